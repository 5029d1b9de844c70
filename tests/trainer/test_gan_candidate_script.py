"""scripts/gan_candidate.py: the gate (a)-(d) a candidate srgan_x4 file is measured against."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/gan_candidate.py")


def _figures(model: Path, *, set14_niqe=5.2, holdout_psnr=30.85, grid=0.138, bsd_psnr=27.33) -> dict:
    def detail(niqe, psnr=28.0):
        return {str(model): {"PSNR": psnr, "detail ratio": 0.17, "grid": grid, "overshoot": 0.06, "NIQE": niqe,
                             "dot lattice": 0.07}}

    sets = {"bicubic": {"Set5": {"psnr": 28.43}, "Set14": {"psnr": 26.09}, "BSD68": {"psnr": 26.07}},
            model.name.removesuffix(".safetensors"): {"Set5": {"psnr": 31.19}, "Set14": {"psnr": 28.01}, "BSD68": {"psnr": bsd_psnr}}}
    return {"sets": sets, "Set14": detail(set14_niqe), "BSD68": detail(5.48), "holdout": detail(5.14, holdout_psnr)}


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


def test_a_method_missing_from_the_eval_json_is_named(script):
    with pytest.raises(KeyError, match="other on Set5"):
        script.set_psnr({"bicubic": {"Set5": {"psnr": 1.0}}}, "Set5", "other")
