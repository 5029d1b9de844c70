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


def test_build_notches_a_checkpoints_ema_and_keeps_the_runs_training_record(script, tmp_path):
    """The candidate files carry the export's config, data, steps and wall time (so ship_model's card
    states the recipe used), say what was done after training, and hold the checkpoint's EMA weights."""
    import torch
    from safetensors.torch import load_file
    from test_train_support import collect, make_images, tiny_config

    from trainer.modelfile import load_model, read_metadata
    from trainer.train import train
    from trainer.train.checkpoint import list_checkpoints, load_checkpoint
    from trainer.train.export import export_checkpoint

    images = make_images(tmp_path / "train", n=4)
    run = tmp_path / "gan9"
    collect(train(tiny_config(images, **{"runtime.checkpoint_interval": 2}), run))
    step2 = dict(list_checkpoints(run))[2]
    reference = export_checkpoint(step2, tmp_path / "ref.safetensors", raw=True).path  # same shape, other weights
    fp32, fp16 = script.build(run, 2, reference, tmp_path / "cand", notch=12.0)
    assert fp32.name == "gan9_s2.safetensors" and fp16.name == "gan9_s2_fp16.safetensors"
    ema = read_metadata(tmp_path / "cand" / "gan9_s2_ema.safetensors")
    ckpt = load_checkpoint(step2)
    for path, dtype in ((fp32, torch.float32), (fp16, torch.float16)):
        meta = read_metadata(path)
        for key in ("config", "trained_on", "steps", "recipe"):
            assert meta[key] == ema[key], key
        assert meta["steps"] == 2 and meta["config"]["recipe"] == "quick" and meta["trained_on"]["images"] == 4
        assert meta["description"].startswith("gan9 step 2, EMA generator, notched (sigma 12)")
        assert meta["lattice_notch"] == {"reference": str(reference), "sigma": 12.0}
        assert "metrics" not in meta  # the checkpoint's validation figures are not the notched file's
        model = load_model(path)
        assert model.hparams["lattice_notch"] == 12.0
        state = load_file(path)  # as stored: fp16 in the fp16 file
        tol = 1e-2 if dtype == torch.float16 else 0.0
        for key, value in ckpt["ema"]["module"].items():
            assert state[key].dtype == (dtype if value.is_floating_point() else value.dtype)
            assert torch.allclose(state[key].double(), value.double(), atol=tol, rtol=tol)
        for key, value in ckpt["generator"].items():
            assert torch.allclose(state[f"reference.{key}"].double(), value.double(), atol=tol, rtol=tol)
