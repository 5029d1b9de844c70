"""A deeper SRResNet started from a trained shallower file (model.init_weights)."""

from __future__ import annotations

import torch


def test_a_deeper_srresnet_starts_from_a_shallower_file(tmp_path):
    """More residual blocks from a trained file: the new blocks start as identities (same output)."""
    from trainer.config import TrainingConfig, apply_overrides
    from trainer.modelfile import load_model, save_model
    from trainer.models import build_model
    from trainer.train.setup import build_generator, init_compatible

    torch.manual_seed(2)
    src = build_model("srresnet", scale=4, channels=8, num_blocks=2, bicubic_skip=True)
    src.module.train()
    with torch.no_grad():
        src.module(torch.rand(2, 3, 12, 12))  # BatchNorm statistics that are not the identity
    src.module.eval()
    path = save_model(src, tmp_path / "b2.safetensors")
    config = apply_overrides(TrainingConfig(), {
        "model.arch": "srresnet", "model.hparams.channels": 8, "model.hparams.num_blocks": 4,
        "model.hparams.bicubic_skip": True, "model.init_weights": str(path),
    })
    model = build_generator(config).eval()
    assert len(model.body) == 4
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        assert float((model(x) - load_model(path).module.eval()(x)).abs().max()) < 1e-6
    model.train()
    y = model(x)
    y.mean().backward()  # the identity blocks still learn: their zeroed scale gets a gradient
    assert float(model.body[3].body[-1].weight.grad.abs().sum()) > 0
    assert init_compatible("srresnet", {"num_blocks": 2}, "srresnet", {"num_blocks": 4})
    assert not init_compatible("srresnet", {"num_blocks": 4}, "srresnet", {"num_blocks": 2})
    assert not init_compatible("srresnet", {"num_blocks": 2, "channels": 32}, "srresnet", {"num_blocks": 4})
