"""scripts/web_groups.py: per-image web-degraded figures grouped by the degradation drawn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from trainer.cli.evaluate import main as srgan_eval


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/web_groups.py")


def _report(records: dict[str, tuple[int, float, float, float]]) -> dict:
    """A srgan-eval JSON: image -> (jpeg quality, noise sigma, bicubic PSNR, model PSNR)."""
    def entry(col):
        return {"psnr": 0.0, "per_image": {n: {"psnr": r[col], "jpeg_quality": r[0], "noise_sigma": r[1],
                                               "blur_sigma": 0.5, "seed": i}
                                           for i, (n, r) in enumerate(records.items())}}

    return {"bicubic": {"X@web:0": entry(2)}, "m": {"X@web:0": entry(3)}}


def test_gains_are_paired_means_per_group(script):
    report = _report({"a": (40, 1.0, 20.0, 20.5), "b": (45, 6.0, 22.0, 22.1), "c": (85, 1.0, 30.0, 31.0),
                      "d": (60, 3.0, 25.0, 25.6)})
    models, rows = script.group_gains(report, "X@web:0")
    got = {label: (n, gains[0]) for label, n, gains in rows}
    assert models == ["m"]
    assert got["JPEG quality 35-49"] == (2, pytest.approx(0.3))
    assert got["JPEG quality 80-90"] == (1, pytest.approx(1.0))
    assert got["noise sigma < 2"] == (2, pytest.approx(0.75))
    assert got["mildest (quality >= 75, noise < 3)"] == (1, pytest.approx(1.0))
    assert got["all"] == (4, pytest.approx(0.55))
    assert "JPEG quality 65-79" not in got  # empty groups are left out


def test_a_json_without_parameters_is_a_clear_error(script, tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"bicubic": {"X@web:0": {"psnr": 25.0}}, "m": {"X@web:0": {"psnr": 26.0}}}))
    with pytest.raises(SystemExit, match="no per-image degradation parameters"):
        script.main([str(path)])


def test_end_to_end_on_srgan_eval_json(script, tiny_model_path, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "r.json"
    assert srgan_eval(["--model", str(tiny_model_path), "--datasets", str(folder), "--degradation", "web",
                       "--json", str(out), "--backend", "torch", "--device", "cpu"]) == 0
    report = json.loads(out.read_text())
    capsys.readouterr()
    assert script.main([str(out), "--markdown"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "imgs@web:0: mean PSNR gain over bicubic (dB) per group"
    assert lines[1] == "| group | images | tiny - bicubic |"
    all_row = lines[-1].split(" | ")
    expected = report["tiny"]["imgs@web:0"]["psnr"] - report["bicubic"]["imgs@web:0"]["psnr"]
    assert all_row[0] == "| all" and all_row[1] == "4" and float(all_row[2].rstrip(" |")) == pytest.approx(expected, abs=0.006)
