"""Shapes, scales, gradients and registration of every architecture in the zoo (tiny widths, CPU)."""

import pytest
import torch

from trainer import models
from trainer.models.common import bicubic_up
from trainer.models.discriminators import SRGANDiscriminator

# Tiny versions of every generator: a few channels, two blocks.
TINY_G = {
    "srresnet": {"num_blocks": 2, "channels": 8},
    "wdrn": {"num_blocks": 3, "channels": 8},
    "srcnn": {"channels": 8, "mid_channels": 4},
    "vdsr": {"depth": 4, "channels": 8},
}
TINY_D = {
    "srgan_d": {"channels": 4},
    "vgg_feature_d": {"channels": 8, "layer": "relu2_2", "vgg_weights": "random"},
}
# The pixel-shuffle generators do powers of two; the pre-upsampling ones any integer from 2 to 8.
SCALES = {"srresnet": (2, 4, 8), "wdrn": (2, 4, 8), "srcnn": (2, 3, 4, 8), "vdsr": (2, 3, 4, 8)}


def test_registered_names():
    assert models.list("generator") == ["srcnn", "srresnet", "vdsr", "wdrn"]
    assert models.list("discriminator") == ["srgan_d", "unet_d", "vgg_feature_d"]
    for name in models.list():
        assert models.get(name).description


@pytest.mark.parametrize(("arch", "scale"), [(a, s) for a, scales in SCALES.items() for s in scales])
def test_generator_shapes(arch, scale):
    m = models.build(arch, scale=scale, **TINY_G[arch]).eval()
    assert m.scale == scale
    assert models.build_model(arch, scale=scale, **TINY_G[arch]).hparams["scale"] == scale
    with torch.no_grad():
        assert m(torch.rand(2, 3, 16, 12)).shape == (2, 3, 16 * scale, 12 * scale)


@pytest.mark.parametrize(("arch", "scale"), [("wdrn", 3), ("srcnn", 1), ("vdsr", 9), ("srresnet", 3)])
def test_unsupported_scale_is_an_error(arch, scale):
    with pytest.raises(ValueError, match="scale"):
        models.build(arch, scale=scale)


def test_default_hyperparameters():
    assert models.get("wdrn").defaults() == {"scale": 4, "num_blocks": 5, "channels": 64, "bicubic_skip": False}
    assert models.get("srcnn").defaults() == {"scale": 4, "channels": 64, "mid_channels": 32}
    assert models.get("vdsr").defaults() == {"scale": 4, "depth": 20, "channels": 64}
    assert models.get("srgan_d").defaults() == {"channels": 64, "norm": "batch", "pool_size": 6}
    assert models.get("vgg_feature_d").defaults() == {"channels": 256, "layer": "relu5_4", "vgg_weights": "imagenet"}


def test_published_sizes():
    # SRCNN 9-1-5 (64/32 filters) on RGB and VDSR (20 layers, 64 filters) on RGB.
    assert sum(p.numel() for p in models.build("srcnn").parameters()) == 20_099
    assert sum(p.numel() for p in models.build("vdsr").parameters()) == 668_227
    vdsr = models.build("vdsr")
    assert sum(isinstance(m, torch.nn.Conv2d) for m in vdsr.modules()) == 20


def test_wdrn_matches_documented_formula():
    """x_k = block_k(s_{k-1}), s_k = x_k + sum_{j<k} 0.5^(k-j) x_j, x_0 = head; feat = tail(s_B) + 0.5 x_0."""
    torch.manual_seed(0)
    m = models.build("wdrn", scale=2, num_blocks=4, channels=8).eval()
    x = torch.rand(1, 3, 10, 10)
    with torch.no_grad():
        xs = [m.head(x)]
        s = xs[0]
        for k, block in enumerate(m.blocks, start=1):
            xs.append(block(s))
            s = xs[k] + sum(0.5 ** (k - j) * xs[j] for j in range(k))
        expected = m.tail(m.upsample(m.body_tail(s) + 0.5 * xs[0]))
        torch.testing.assert_close(m(x), expected)


def test_bicubic_skip_adds_bicubic():
    torch.manual_seed(0)
    plain = models.build("wdrn", scale=2, num_blocks=1, channels=8).eval()
    skip = models.build("wdrn", scale=2, num_blocks=1, channels=8, bicubic_skip=True).eval()
    skip.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(skip(x), plain(x) + bicubic_up(x, 2))


def test_vdsr_is_a_residual_over_bicubic():
    m = models.build("vdsr", scale=3, depth=3, channels=8).eval()
    last = m.body[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(m(x), bicubic_up(x, 3))


@pytest.mark.parametrize("arch", sorted(TINY_D))
@pytest.mark.parametrize("size", [32, 96])
def test_discriminator_logits_shape(arch, size):
    d = models.build(arch, **TINY_D[arch])
    out = d(torch.rand(3, 3, size, size))
    assert out.shape == (3, 1)


def test_vgg_feature_d_default_layer_shape():
    d = models.build("vgg_feature_d", channels=8, vgg_weights="random")
    assert d(torch.rand(2, 3, 32, 32)).shape == (2, 1)


def test_srgan_d_layout_and_norm():
    d = models.build("srgan_d", channels=4)
    convs = [m for m in d.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules()) == 7
    assert not isinstance(d.features[1], torch.nn.BatchNorm2d)  # none after the first conv
    critic = models.build("srgan_d", channels=4, norm="none")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in critic.modules())
    with pytest.raises(ValueError, match="norm"):
        models.build("srgan_d", norm="layer")


def test_srgan_d_96_crop_needs_no_resampling():
    d = SRGANDiscriminator(channels=4)
    assert d.features(torch.rand(1, 3, 96, 96)).shape[-2:] == (6, 6)


@pytest.mark.parametrize("arch", sorted(TINY_G))
def test_gradients_reach_every_generator_parameter(arch):
    torch.manual_seed(0)
    m = models.build(arch, scale=2, **TINY_G[arch]).train()
    out = m(torch.rand(2, 3, 12, 12))
    torch.nn.functional.mse_loss(out, torch.rand_like(out)).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("arch", sorted(TINY_D))
def test_gradients_reach_every_discriminator_parameter_and_the_input(arch):
    torch.manual_seed(0)
    d = models.build(arch, **TINY_D[arch]).train()
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(d(x), torch.ones(2, 1)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # the generator's adversarial gradient
    for name, p in d.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_vgg_feature_d_keeps_vgg_frozen():
    torch.manual_seed(0)
    d = models.build("vgg_feature_d", **TINY_D["vgg_feature_d"]).train()
    params = dict(d.named_parameters())
    assert params and all(n.startswith("head.") for n in params)  # only the head is trainable
    before = {k: v.clone() for k, v in d.vgg.state_dict().items()}
    d.requires_grad_(True)  # the usual GAN toggle must not unfreeze the VGG part
    assert not d.vgg.training
    opt = torch.optim.SGD(d.parameters(), lr=0.1)
    d(torch.rand(2, 3, 32, 32)).mean().backward()
    opt.step()
    assert all(not b.requires_grad and b.grad is None for b in d.vgg.buffers())
    for k, v in d.vgg.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("arch", ["srgan_d", "vgg_feature_d"])
def test_discriminators_work_as_wgan_gp_critics(arch):
    hp = dict(TINY_D[arch], **({"norm": "none"} if arch == "srgan_d" else {}))
    critic = models.build(arch, **hp)
    real, fake = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    alpha = torch.rand(2, 1, 1, 1)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    penalty.backward()  # double backward through the whole critic
    # Biases do not change the input gradient, so only the weights get a penalty gradient.
    weights = [n for n, p in critic.named_parameters() if p.ndim > 1]
    assert weights and all(dict(critic.named_parameters())[n].grad is not None for n in weights)


def test_discriminator_under_autocast():
    d = models.build("vgg_feature_d", **TINY_D["vgg_feature_d"])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert d(torch.rand(1, 3, 32, 32)).shape == (1, 1)
