"""The no-VGG GAN recipe's parts: U-Net SN discriminator, discriminator feature matching, the recipe."""

from __future__ import annotations

import pytest
import torch
from test_train_support import collect, make_images, of_type, run_until, tiny_config

from trainer import models
from trainer.config import ConfigError, apply_overrides, load_recipe
from trainer.train import train
from trainer.train.checkpoint import load_checkpoint
from trainer.train.losses import feature_matching_loss


@pytest.mark.parametrize("size", [(16, 16), (37, 50), (96, 96)])
def test_unet_d_gives_one_logit_per_pixel_for_any_size(size):
    d = models.build("unet_d", channels=8).eval()  # eval: no power-iteration update between calls
    x = torch.rand(2, 3, *size)
    logits, feats = d(x, return_features=True)
    assert logits.shape == (2, 1, *size) and torch.equal(logits, d(x))
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64]
    assert models.get("unet_d").kind == "discriminator"


def test_unet_d_is_spectrally_normalised():
    d = models.build("unet_d", channels=8)
    for _ in range(30):  # power iteration converges over training-mode forwards
        d(torch.rand(1, 3, 16, 16))
    d.eval()
    w = d.down2.weight.detach().flatten(1)
    assert float(torch.linalg.matrix_norm(w, ord=2)) == pytest.approx(1.0, abs=0.05)


def test_feature_matching_loss_is_zero_for_equal_features_and_pulls_towards_hr():
    real = [torch.rand(2, 4, 8, 8) + 0.5, torch.rand(2, 8, 4, 4) + 0.5]
    assert float(feature_matching_loss([r.clone() for r in real], real)) == 0.0
    fake = [(r + 0.3).requires_grad_(True) for r in real]
    loss = feature_matching_loss(fake, real)
    loss.backward()
    assert float(loss.detach()) > 0 and all(float(f.grad.sum()) > 0 for f in fake)  # gradient descent lowers fake
    assert all(r.grad is None for r in real)  # HR is the target, not moved


def test_recipe_and_config_rules():
    cfg = load_recipe("srgan-dfm")
    gan = cfg.phases[1]
    assert gan.discriminator.arch == "unet_d" and gan.adversarial.feature_matching > 0
    assert gan.content.type == "none"  # no VGG19 weights needed
    assert gan.adversarial.high_pass == 1.5 and gan.adversarial.weight == 2e-2  # the A/B's choice (docs/GAN_RECIPE.md)
    with pytest.raises(ConfigError) as err:
        apply_overrides(cfg, ["phases.gan.discriminator.arch='srgan_d'"])
    assert err.value.field == "phases[1].adversarial.feature_matching"


def test_step_logs_the_feature_term_and_resume_is_exact(tmp_path):
    data = make_images(tmp_path / "train", n=4)
    cfg = tiny_config(data, "srgan-dfm", **{"phases.*.iterations": 2, "phases.gan.discriminator.channels": 4,
                                             "runtime.checkpoint_interval": 1})
    straight = collect(train(cfg, tmp_path / "a"))
    steps = of_type(straight, "TrainStep")
    assert "g_feature" in steps[-1].losses and "d_real" in steps[-1].losses
    assert all(torch.isfinite(torch.tensor(list(e.losses.values()))).all() for e in steps)
    # Stop after step 3 (phase 2's first step), resume, finish: same weights as the straight run.
    run_until(cfg, tmp_path / "b", 3)
    collect(train(cfg, tmp_path / "b", resume=True))
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "step_000000004.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "step_000000004.pt")
    for part in ("generator", "discriminator"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs"


def test_discriminator_init_weights_start_a_phase_from_a_travelled_critic(tmp_path):
    """A GAN continued elsewhere keeps its critic: phases.gan.discriminator.init_weights (fp16 too)."""
    from trainer.train.setup import build_discriminator

    data = make_images(tmp_path / "train", n=4)
    cfg = tiny_config(data, "srgan-dfm", **{"phases.*.iterations": 1, "phases.gan.discriminator.channels": 4,
                                             "runtime.checkpoint_interval": 1})
    collect(train(cfg, tmp_path / "a"))
    ckpt = tmp_path / "a" / "checkpoints" / "step_000000002.pt"
    trained = load_checkpoint(ckpt)["discriminator"]
    slim = tmp_path / "continue.pt"
    torch.save({**load_checkpoint(ckpt), "discriminator": {k: v.half() if v.is_floating_point() else v for k, v in trained.items()}}, slim)
    cont = apply_overrides(cfg, [f"phases.gan.discriminator.init_weights='{slim}'"])
    d = build_discriminator(cont, 1)
    for key, value in d.state_dict().items():
        assert value.dtype == trained[key].dtype
        assert torch.allclose(value.float(), trained[key].float(), atol=1e-2, rtol=1e-2), key
    from trainer.train.checkpoint import CheckpointError

    wrong = apply_overrides(cont, ["phases.gan.discriminator.channels=8"])
    with pytest.raises(CheckpointError, match="does not fit"):
        build_discriminator(wrong, 1)
