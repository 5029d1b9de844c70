"""The resize-convolution upsampler (``srresnet`` hyperparameter ``upsampler``): tied sub-pixel kernels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trainer import models
from trainer.models.common import TiedSubpixelConv


def _up_then_conv(x: torch.Tensor, m: TiedSubpixelConv) -> torch.Tensor:
    kw = {} if m.interp == "nearest" else {"align_corners": False}
    return F.conv2d(F.interpolate(x, scale_factor=2, mode=m.interp, **kw), m.weight, m.bias, padding=1)


@pytest.mark.parametrize("interp, border", [("nearest", 0), ("bilinear", 2)])
def test_tied_conv_is_resize_then_conv_at_low_resolution_cost(interp, border):
    torch.manual_seed(0)
    m = TiedSubpixelConv(5, 6, interp)
    x = torch.rand(2, 5, 9, 11)
    got, want = F.pixel_shuffle(m(x), 2), _up_then_conv(x, m)
    assert got.shape == want.shape == (2, 6, 18, 22)
    inner = (slice(None), slice(None), slice(border, got.shape[-2] - border), slice(border, got.shape[-1] - border))
    assert torch.allclose(got[inner], want[inner], atol=1e-5)
    if border:  # bilinear: the resize clamps at the border, the low-resolution conv zero-pads
        assert not torch.allclose(got, want, atol=1e-3)


@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_every_subpixel_position_has_the_same_gain(interp):
    # A free sub-pixel conv with random weights turns a flat input into a 2x2 pattern; tied ones cannot.
    torch.manual_seed(1)
    flat = torch.full((1, 4, 8, 8), 0.7)
    with torch.no_grad():
        tied = F.pixel_shuffle(TiedSubpixelConv(4, 3, interp)(flat), 2)[..., 2:-2, 2:-2]
        free = F.pixel_shuffle(torch.nn.Conv2d(4, 12, 3, padding=1)(flat), 2)[..., 2:-2, 2:-2]
    spread = lambda y: float((y.amax(dim=(2, 3)) - y.amin(dim=(2, 3))).max())  # noqa: E731
    assert spread(tied) < 1e-5 < 1e-2 < spread(free)


@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_fit_from_a_free_subpixel_conv(interp):
    torch.manual_seed(2)
    a, b = TiedSubpixelConv(4, 3, interp), TiedSubpixelConv(4, 3, interp)
    weight, bias = (t.detach() for t in a.phase_kernels())
    assert b.load_from_subpixel(weight, bias) < 1e-6  # a tied conv is recovered exactly
    assert torch.allclose(a.weight, b.weight, atol=1e-5) and torch.allclose(a.bias, b.bias)
    free = torch.nn.Conv2d(4, 12, 3, padding=1)
    residual = b.load_from_subpixel(free.weight.detach(), free.bias.detach())
    assert 0.1 < residual < 1.0  # random phase kernels are not tied: the least-squares fit is partial
    assert torch.allclose(b.bias, free.bias.detach().reshape(3, 4).mean(1))


def test_srresnet_with_resize_conv_trains_saves_loads_and_runs_in_the_engine(tmp_path):
    from trainer.inference import Upscaler
    from trainer.inference.optimize import prepare_for_inference
    from trainer.modelfile import load_model, save_model

    torch.manual_seed(3)
    loaded = models.build_model("srresnet", scale=4, num_blocks=1, channels=8, upsampler="bilinear_conv")
    net = loaded.module
    assert net.upsample[0].weight.shape == (8, 8, 3, 3)  # one kernel per stage, not four
    with pytest.raises(ValueError, match="upsampler must be one of"):
        models.build("srresnet", upsampler="transposed")
    # Gradients reach the tied kernel.
    net(torch.rand(1, 3, 8, 8)).mean().backward()
    assert net.upsample[0].weight.grad is not None and net.upsample[0].weight.grad.abs().sum() > 0
    net.zero_grad()
    path = tmp_path / "rc.safetensors"
    save_model(loaded, path)
    back = load_model(path)
    assert back.hparams["upsampler"] == "bilinear_conv"
    x = torch.rand(1, 3, 13, 17)
    with torch.no_grad():
        want = net.eval()(x)
        assert torch.allclose(back.module.eval()(x), want, atol=1e-6)
        fast = prepare_for_inference(back.module, device=torch.device("cpu"))
        assert not any(isinstance(m, TiedSubpixelConv) for m in fast.modules())  # a plain conv at inference
        assert torch.allclose(fast(x), want, atol=1e-4)
    img = (torch.rand(13, 17, 3) * 255).to(torch.uint8).numpy()
    out = Upscaler(back, device="cpu", tile=8).upscale_array(img)  # tiled: the receptive field is known
    assert out.shape == (52, 68, 3)
    with torch.no_grad():
        ref = (net(torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255)[0].clamp(0, 1).permute(1, 2, 0) * 255)
    assert int((torch.from_numpy(out).int() - ref.round().int()).abs().max()) <= 1


def test_init_weights_from_a_pixelshuffle_model_are_fitted(tmp_path):
    from trainer.config import apply_overrides, load_recipe
    from trainer.modelfile import save_model
    from trainer.train.setup import build_generator

    torch.manual_seed(4)
    source = models.build_model("srresnet", scale=4, num_blocks=1, channels=8, bicubic_skip=True)
    path = tmp_path / "ps.safetensors"
    save_model(source, path)
    over = {"model.arch": "srresnet", "model.num_blocks": 1, "model.channels": 8, "model.bicubic_skip": True,
            "model.upsampler": "nearest_conv", "model.init_weights": str(path)}
    net = build_generator(apply_overrides(load_recipe("quick"), over))
    src = source.module.state_dict()
    for key, value in net.state_dict().items():
        if not key.startswith("upsample."):
            assert torch.equal(value, src[key]), key
    fit = TiedSubpixelConv(8, 8, "nearest")
    fit.load_from_subpixel(src["upsample.0.weight"], src["upsample.0.bias"])
    assert torch.allclose(net.upsample[0].weight, fit.weight)
    # Anything else that differs is still refused.
    over["model.bicubic_skip"] = False
    with pytest.raises(ValueError, match="model.init_weights holds"):
        build_generator(apply_overrides(load_recipe("quick"), over))
