"""Readout figures of the app (trainer.app.analysis), without widgets."""

from __future__ import annotations

import numpy as np

from trainer.app.analysis import clip_region


def test_regions_are_clipped_to_the_shaved_image_or_refused_when_too_small():
    assert clip_region((0, 0, 100, 80), (64, 48), 4) == (4, 4, 60, 44)
    assert clip_region((50, 0, 70, 80), (64, 48), 4) is None  # 10 pixels wide: no SSIM window


def test_niqe_is_not_computed_for_very_large_pictures(monkeypatch):
    import trainer.niqe
    from trainer.app import analysis

    def fail(*args, **kwargs):
        raise AssertionError("NIQE computed for a picture above the limit")

    monkeypatch.setattr(analysis, "NIQE_MAX_PIXELS", 300 * 300)
    monkeypatch.setattr(trainer.niqe, "niqe", fail)
    assert analysis.niqe_scores({"sr": np.zeros((301, 300, 3), np.uint8)}, 4) == {"sr": None}
