"""scripts/gan_candidate.py: the gate (a)-(d) a candidate srgan_x4 file is measured against."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/gan_candidate.py")


def _figures(model: Path, *, set14_niqe=5.2, holdout_psnr=30.85, grid=0.138, bsd_psnr=27.33) -> dict:
    """detail_ratio.py's JSON tables per set: the bicubic row and the model's."""
    def table(psnr, bicubic, niqe=None):
        row = {"PSNR": psnr, "detail ratio": 0.17, "grid": grid, "overshoot": 0.06, "dot lattice": 0.07}
        return {"bicubic": {"PSNR": bicubic}, str(model): row if niqe is None else {**row, "NIQE": niqe}}

    return {"Set5": table(31.19, 28.43), "Set14": table(28.01, 26.09, set14_niqe), "BSD68": table(bsd_psnr, 26.07, 5.48),
            "holdout": table(holdout_psnr, 29.79, 5.14)}


def test_a_file_with_every_figure_inside_its_limit_passes(script):
    model = Path("runs/cand/gan34_s3500_fp16.safetensors")
    s = script.summarise(_figures(model), model)
    assert s["psnr"]["BSD68"] == (27.33, 26.07) and s["holdout"] == (30.85, 5.14)
    assert script.gate(s) == {"a": True, "b": True, "c": True, "d": True, "pass": True}


@pytest.mark.parametrize("change, failed", [
    ({"set14_niqe": 5.289}, "b"),  # not *under* the peer's NIQE
    ({"holdout_psnr": 30.79}, "d"),
    ({"grid": 0.15}, "c"),
    ({"bsd_psnr": 27.06}, "a"),  # under bicubic + 1.0
])
def test_each_figure_over_its_limit_fails_its_own_check(script, change, failed):
    model = Path("c_fp16.safetensors")
    g = script.gate(script.summarise(_figures(model, **change), model))
    assert not g["pass"] and [k for k in "abcd" if not g[k]] == [failed]

