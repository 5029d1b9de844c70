import pytest
import torch
from torch import nn

from trainer import models
from trainer.models import registry


def test_duplicate_name_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        models.register("srresnet", lambda *, scale=4: nn.Identity(), kind="generator")


def test_positional_hyperparameters_refused():
    with pytest.raises(ValueError, match="keyword-only"):
        registry.register("__bad_positional", lambda scale=4: nn.Identity(), kind="generator")


def test_unknown_name_lists_known():
    with pytest.raises(KeyError, match="srresnet"):
        models.get("no-such-net")


def test_build_model_records_arch_and_full_hparams():
    m = models.build_model("srresnet", num_blocks=2, channels=8)
    assert isinstance(m.module, nn.Module) and not hasattr(m.module, "arch") and not hasattr(m.module, "hparams")
    assert (m.arch, m.scale, m.kind, m.channels, m.source, dict(m.metadata)) == ("srresnet", 4, "generator", 3, None, {})
    assert m.hparams == {"scale": 4, "num_blocks": 2, "channels": 8, "bicubic_skip": False, "upsampler": "pixelshuffle", "lattice_notch": 0.0}
    with pytest.raises(TypeError):  # a LoadedModel is read-only
        m.hparams["scale"] = 2
    d = models.describe(models.build("srgan_d", channels=4), "srgan_d", {"channels": 4})
    assert d.kind == "discriminator" and d.scale is None and d.hparams["channels"] == 4
    with pytest.raises(TypeError, match="no hyperparameter"):
        models.build("srresnet", blocks=3)
    assert not hasattr(models.build("srresnet", num_blocks=1), "hparams")  # nothing patched onto modules


def test_srresnet_published_parameter_count():
    m = models.build("srresnet", num_blocks=16, scale=4)
    assert sum(p.numel() for p in m.parameters()) == 1_549_462


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_shapes(scale):
    m = models.build("srresnet", scale=scale, num_blocks=2, channels=8).eval()
    with torch.no_grad():
        assert m(torch.rand(2, 3, 16, 12)).shape == (2, 3, 16 * scale, 12 * scale)
