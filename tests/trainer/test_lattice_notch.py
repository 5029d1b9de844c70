"""The lattice notch against a reference (trainer.models.notch, SRResNet.lattice_notch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer import modelfile, models
from trainer.inference import Upscaler
from trainer.interpolate import InterpolationError, with_lattice_notch
from trainer.models.notch import LatticeNotch


def _smooth(h: int = 160, w: int = 176) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    img = 0.5 + 0.001 * xx - 0.0007 * yy + 0.08 * torch.sin(xx / 23) * torch.cos(yy / 31)
    return torch.stack([img, 0.9 * img, 1.1 * img - 0.1])[None]


def test_the_notch_takes_out_a_local_period_4_pattern_and_leaves_smooth_content():
    notch = LatticeNotch(4, 8)
    smooth = _smooth()
    cell = torch.tensor([[3.0, -2, 0, 1], [0, 2, -3, 0], [1, 0, 0, -2], [0, -1, 2, 0]]) / 255
    pattern = (cell - cell.mean()).repeat(40, 44)[None, None]
    inner = (..., slice(40, -40), slice(40, -40))
    with torch.no_grad():
        out = notch(smooth + pattern)
        assert float((out - smooth)[inner].abs().max()) < 0.1 / 255  # the 3-level pattern is gone
        assert float((notch(smooth) - smooth)[inner].abs().max()) < 0.1 / 255  # ramps and waves pass
        assert float((notch(smooth) - smooth).abs().max()) < 1.5 / 255  # borders: renormalised, not padded
        const = torch.full((1, 3, 9, 7), 0.3)
        torch.testing.assert_close(notch(const), const)  # smaller than its reach: still exact
        half = notch((smooth + pattern).half())
        assert half.dtype == torch.float16 and float((half.float() - smooth)[inner].abs().max()) < 1.0 / 255
    with pytest.raises(ValueError, match="period >= 2 and sigma > 0"):
        LatticeNotch(4, 0)


@pytest.mark.parametrize("period", [2, 3])
def test_other_scales_get_their_own_lattice(period):
    notch = LatticeNotch(period, 8)
    smooth = _smooth(150, 150)
    torch.manual_seed(period)
    cell = torch.rand(period, period) * 4 / 255
    pattern = (cell - cell.mean()).repeat(150 // period, 150 // period)[None, None]
    inner = (..., slice(40, -40), slice(40, -40))
    with torch.no_grad():
        assert float((notch(smooth + pattern) - smooth)[inner].abs().max()) < 0.1 / 255


def _srresnet(seed: int) -> models.LoadedModel:
    torch.manual_seed(seed)
    model = models.build_model("srresnet", channels=8, num_blocks=1, bicubic_skip=True, upsampler="bilinear_conv")
    model.module.eval()
    return model


def test_a_notched_model_keeps_the_references_lattice_component(tmp_path):
    gan, ref = _srresnet(0), _srresnet(1)
    notched = with_lattice_notch(gan, ref, 12)
    x = torch.rand(1, 3, 30, 34)
    with torch.no_grad():
        out, g, r = notched.module(x), gan.module(x), ref.module(x)
        notch = LatticeNotch(4, 12)
        torch.testing.assert_close(out, r + notch(g - r))
        assert float((out - g).abs().max()) > 1 / 255  # it did change the output
        same = with_lattice_notch(gan, gan, 12).module(x)  # against itself: nothing to exchange
        torch.testing.assert_close(same, g, atol=1e-6, rtol=0)
    # One file carries both networks (fp16 storage too); it loads back to the same output.
    path = modelfile.save_model(notched, tmp_path / "notched.safetensors", dtype=torch.float16)
    back = modelfile.load_model(path)
    assert back.hparams["lattice_notch"] == 12.0 and any(k.startswith("reference.") for k in back.module.state_dict())
    with torch.no_grad():
        assert float((back.module(x) - out).abs().max()) < 2e-2
    with pytest.raises(InterpolationError, match="same shape"):
        with_lattice_notch(gan, models.build_model("srresnet", channels=4, num_blocks=1, bicubic_skip=True), 12)
    with pytest.raises(InterpolationError, match="already has a lattice notch"):
        with_lattice_notch(notched, ref, 12)


def test_the_engine_runs_a_notched_model_tiled_as_whole():
    notched = with_lattice_notch(_srresnet(0), _srresnet(1), 8)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:45, 0:61]
    img = np.clip(0.5 + 0.3 * np.sin(xx[..., None] / 5.0 + np.arange(3)) * np.cos(yy[..., None] / 7.0)
                  + rng.normal(0, 0.05, (45, 61, 3)), 0, 1)
    img = np.round(img * 255).astype(np.uint8)
    whole_engine = Upscaler(notched, tile=0)
    assert whole_engine.context >= 8  # the notch's reach (8 output px = 2 input px) counts
    whole = whole_engine.upscale_array(img)
    with torch.no_grad():
        naive = notched.module(torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255)
    naive = (naive.clamp(0, 1) * 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert int(np.abs(whole.astype(int) - naive.astype(int)).max()) <= 1  # the optimised engine keeps it
    tiled = Upscaler(notched, tile=20).upscale_array(img)
    assert int(np.abs(tiled.astype(int) - whole.astype(int)).max()) <= 1


def test_training_refuses_a_notch_and_starts_from_a_notched_files_own_weights(tmp_path):
    from trainer.config import TrainingConfig, apply_overrides
    from trainer.train.setup import build_generator

    gan = _srresnet(0)
    path = modelfile.save_model(with_lattice_notch(gan, _srresnet(1), 8), tmp_path / "n.safetensors")
    hp = {"model.hparams.channels": 8, "model.hparams.num_blocks": 1, "model.hparams.bicubic_skip": True,
          "model.hparams.upsampler": "bilinear_conv"}
    config = apply_overrides(TrainingConfig(), {"model.arch": "srresnet", **hp, "model.init_weights": str(path)})
    model = build_generator(config)  # e.g. fine-tuning the shipped srgan_x4: its own network, no reference
    assert model.reference is None and model.state_dict().keys() == gan.module.state_dict().keys()
    for key, value in gan.module.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    notched = apply_overrides(TrainingConfig(), {"model.arch": "srresnet", **hp, "model.hparams.lattice_notch": 8.0})
    with pytest.raises(ValueError, match="lattice_notch is for finished models"):
        build_generator(notched)


def test_the_reference_network_comes_back_out_of_a_notched_file(tmp_path, load_file_module):
    """scripts/notch_reference.py: a run folder's lost SRResNet recovered from the finished model."""
    gan, ref = _srresnet(0), _srresnet(1)
    path = modelfile.save_model(with_lattice_notch(gan, ref, 12), tmp_path / "notched.safetensors")
    script = load_file_module("scripts/notch_reference.py")
    out = modelfile.load_model(script.extract(path, tmp_path / "ref.safetensors"))
    assert out.hparams["lattice_notch"] == 0.0 and not any(k.startswith("reference.") for k in out.module.state_dict())
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        torch.testing.assert_close(out.module(x), ref.module(x))
    with pytest.raises(SystemExit, match="not a lattice-notched model"):
        script.extract(tmp_path / "ref.safetensors", tmp_path / "again.safetensors")
