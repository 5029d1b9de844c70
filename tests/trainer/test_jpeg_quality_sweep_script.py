"""scripts/jpeg_quality_sweep.py: the photo card's figures on high-quality JPEG."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from trainer.webdegrade import gaussian_blur


def test_prints_each_method_per_quality_and_quality_matters(load_file_module, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SRGAN_USER_DIR", str(tmp_path / "user"))
    script = load_file_module("scripts/jpeg_quality_sweep.py")
    folder = tmp_path / "hr"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        img = 128 + gaussian_blur(rng.normal(0, 60, (64, 72, 3)), 1.0)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    assert script.main(["--set", str(folder), "--quality", "95", "30", "--models", "photo_x4", "--noise", "1"]) == 0
    out = capsys.readouterr().out
    blocks = re.findall(r"JPEG quality (\d+):\n  bicubic +PSNR ([\d.]+)  blockiness ([\d.]+)\n  photo_x4 +PSNR ([\d.]+)", out)
    assert [b[0] for b in blocks] == ["95", "30"]
    (q95, q30) = [(float(b[1]), float(b[3])) for b in blocks]
    assert q95[0] > q30[0] + 1 and q95[1] > q30[1]  # the JPEG really is at the asked quality
