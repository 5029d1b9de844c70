"""VGG19 feature extractor: layer naming, weights loading, offline behaviour, freezing, fp32."""

import pytest
import torch
from torchvision.models import vgg as tv_vgg

from trainer import vgg
from trainer.vgg import VGG19_WEIGHTS_FILE, VGGFeatures, VGGWeightsMissing, vgg19_weights_path


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch cache and no download attempt (this machine has no network)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("SRGAN_OFFLINE", "1")
    return tmp_path / "torch"


def _torchvision_features_state():
    """A randomly initialised torchvision vgg19 ``features`` with the full model's key names."""
    torch.manual_seed(0)
    features = tv_vgg.make_layers(tv_vgg.cfgs["E"])
    return features, {f"features.{k}": v for k, v in features.state_dict().items()}


def test_weights_path_and_url(torch_home):
    assert vgg19_weights_path() == torch_home / "hub" / "checkpoints" / VGG19_WEIGHTS_FILE
    assert vgg.VGG19_WEIGHTS_URL == tv_vgg.VGG19_Weights.IMAGENET1K_V1.url


def test_missing_weights_message(torch_home):
    with pytest.raises(VGGWeightsMissing) as info:
        VGGFeatures(weights="imagenet")
    msg = str(info.value)
    assert VGG19_WEIGHTS_FILE in msg
    assert str(torch_home / "hub" / "checkpoints") in msg
    assert tv_vgg.VGG19_Weights.IMAGENET1K_V1.url in msg
    assert "pixel loss" in msg


def test_failed_download_becomes_weights_missing(torch_home, monkeypatch):
    monkeypatch.delenv("SRGAN_OFFLINE")
    calls = []

    def no_network(self, *args, **kwargs):
        calls.append(self)
        raise OSError("Name or service not known")

    monkeypatch.setattr(tv_vgg.VGG19_Weights, "get_state_dict", no_network)
    with pytest.raises(VGGWeightsMissing, match="download failed.*Name or service not known"):
        VGGFeatures(weights="imagenet")
    assert calls == [tv_vgg.VGG19_Weights.IMAGENET1K_V1]


def test_cached_imagenet_file_is_used(torch_home):
    features, state = _torchvision_features_state()
    vgg19_weights_path().parent.mkdir(parents=True)
    torch.save(state, vgg19_weights_path())
    ours = VGGFeatures(("conv1_1",), weights="imagenet")
    torch.testing.assert_close(ours.features[0].weight, features[0].weight)


EXPECTED_SHAPES = {
    "conv1_1": (64, 32, 32),
    "relu1_2": (64, 32, 32),
    "pool1": (64, 16, 16),
    "conv2_1": (128, 16, 16),
    "relu2_2": (128, 16, 16),
    "relu3_4": (256, 8, 8),
    "pool3": (256, 4, 4),
    "relu4_4": (512, 4, 4),
    "conv5_4": (512, 2, 2),
    "relu5_4": (512, 2, 2),
    "pool5": (512, 1, 1),
}


def test_layer_names_and_feature_shapes():
    assert vgg.LAYER_INDEX["conv1_1"] == 0
    assert vgg.LAYER_INDEX["relu2_2"] == 8
    assert vgg.LAYER_INDEX["conv5_4"] == 34
    assert vgg.LAYER_INDEX["relu5_4"] == 35
    assert len(vgg.LAYER_NAMES) == 37  # same length as torchvision's vgg19().features
    m = VGGFeatures(tuple(EXPECTED_SHAPES), weights=None)
    out = m(torch.rand(2, 3, 32, 32))
    assert list(out) == list(EXPECTED_SHAPES)
    for name, shape in EXPECTED_SHAPES.items():
        assert out[name].shape == (2, *shape), name


def test_truncated_after_deepest_layer():
    assert len(VGGFeatures(("relu2_2", "conv1_1"), weights=None).features) == 9
    assert len(VGGFeatures(("relu5_4",), weights=None).features) == 36


def test_unknown_layer():
    with pytest.raises(ValueError, match="relu6_1"):
        VGGFeatures(("relu6_1",), weights=None)


def test_weights_from_file_match_torchvision(tmp_path):
    features, state = _torchvision_features_state()
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    ours = VGGFeatures(("conv3_1", "relu5_4"), weights=path)
    x = torch.rand(1, 3, 32, 32)
    normed = (x - torch.tensor(vgg.IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(vgg.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        out = ours(x)
        torch.testing.assert_close(out["conv3_1"], features[:11](normed))
        torch.testing.assert_close(out["relu5_4"], features[:36](normed))


def test_weights_file_with_bare_keys_and_bad_files(tmp_path):
    features, _ = _torchvision_features_state()
    bare = tmp_path / "bare.pth"
    torch.save(features.state_dict(), bare)
    ours = VGGFeatures(("conv1_2",), weights=bare)
    torch.testing.assert_close(ours.features[2].bias, features[2].bias)
    with pytest.raises(VGGWeightsMissing, match="not found"):
        VGGFeatures(weights=tmp_path / "nope.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, wrong)
    with pytest.raises(VGGWeightsMissing, match="features.0.bias|shape"):
        VGGFeatures(("conv1_1",), weights=wrong)


def test_frozen_eval_and_gradient_to_input():
    m = VGGFeatures(("relu2_1",), weights=None)
    assert list(m.parameters()) == []
    assert all(not b.requires_grad for b in m.buffers())
    m.train()
    assert not m.training
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    m(x)["relu2_1"].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # The normalisation constants are not part of the saved state.
    assert not any(k in ("mean", "std") for k in m.state_dict())


def test_always_fp32():
    m = VGGFeatures(("relu1_2",), weights=None)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert m(torch.rand(1, 3, 8, 8))["relu1_2"].dtype == torch.float32
    m.half()  # a stray .half() on an owner must not break it either
    assert m(torch.rand(1, 3, 8, 8).half())["relu1_2"].dtype == torch.float32
