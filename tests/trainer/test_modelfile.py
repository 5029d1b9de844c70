"""Model files: safetensors round trips with metadata, safe .pth reading, clear errors."""

import json
import os
import pickle
import struct

import pytest
import torch

from trainer import models
from trainer.modelfile import (
    METADATA_KEY,
    ModelFileError,
    infer_srresnet_hparams,
    load_model,
    read_metadata,
    save_model,
)

TINY = {
    "srresnet": {"scale": 2, "num_blocks": 2, "channels": 8},
    "wdrn": {"scale": 4, "num_blocks": 2, "channels": 8, "bicubic_skip": True},
    "srcnn": {"scale": 3, "channels": 8, "mid_channels": 4},
    "vdsr": {"scale": 2, "depth": 4, "channels": 8},
    "srgan_d": {"channels": 4, "norm": "none"},
}


def _tiny(arch="srresnet", **override):
    torch.manual_seed(0)
    model = models.build_model(arch, **{**TINY[arch], **override})
    with torch.no_grad():  # non-trivial BN statistics too, so they must survive the round trip
        for value in model.module.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.rand_like(value) * 0.2 + 0.01)
    model.module.eval()
    return model


def _run(model, size=12):
    torch.manual_seed(1)
    with torch.no_grad():
        return model.module(torch.rand(1, 3, size, size))


@pytest.mark.parametrize("arch", sorted(TINY))
def test_round_trip_is_bitwise(arch, tmp_path):
    model = _tiny(arch)
    path = save_model(model, tmp_path / f"{arch}.safetensors")
    loaded = load_model(path)
    assert loaded.arch == arch and loaded.hparams == model.hparams
    assert not loaded.module.training and loaded.source == path and loaded.kind == models.get(arch).kind
    assert loaded.scale == TINY[arch].get("scale") and loaded.channels == 3
    size = 32 if arch == "srgan_d" else 12
    assert torch.equal(_run(loaded, size), _run(model, size))
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_metadata_is_preserved(tmp_path):
    extra = {
        "trained_on": ["sunhays80", "photos"],
        "steps": 12345,
        "metrics": {"Set5": {"psnr_y": 31.2, "ssim_y": 0.88}},
        "recipe": "srgan_x4",
        "description": "tiny test model",
    }
    path = save_model(_tiny(), tmp_path / "m.safetensors", metadata=extra)
    meta = read_metadata(path)
    assert meta["format_version"] == 1
    assert meta["arch"] == "srresnet"
    assert meta["hparams"] == TINY["srresnet"] | {"bicubic_skip": False, "upsampler": "pixelshuffle", "lattice_notch": 0.0}
    assert meta["scale"] == 2
    assert meta["kind"] == "generator"
    assert meta["storage_dtype"] == "float32"
    assert meta["created"].endswith("+00:00")
    for key, value in extra.items():
        assert meta[key] == value
    assert load_model(path).metadata == meta
    # One header key holds the JSON (other tools see a plain safetensors file).
    from safetensors import safe_open

    with safe_open(str(path), "pt") as fh:
        assert json.loads(fh.metadata()[METADATA_KEY]) == meta
    # A given creation time wins over "now".
    path2 = save_model(_tiny(), tmp_path / "m2.safetensors", metadata={"created": "2024-01-01T00:00:00+00:00"})
    assert read_metadata(path2)["created"] == "2024-01-01T00:00:00+00:00"


def test_discriminator_metadata_has_no_scale(tmp_path):
    meta = read_metadata(save_model(_tiny("srgan_d"), tmp_path / "d.safetensors"))
    assert meta["kind"] == "discriminator" and meta["scale"] is None


def test_reserved_and_unserialisable_metadata_refused(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save_model(_tiny(), tmp_path / "a.safetensors", metadata={"arch": "vdsr"})
    with pytest.raises(ValueError, match="JSON"):
        save_model(_tiny(), tmp_path / "b.safetensors", metadata={"when": object()})
    with pytest.raises(ValueError, match="safetensors"):
        save_model(_tiny(), tmp_path / "c.pth")
    with pytest.raises(ValueError, match="trainer.models.build"):
        save_model(torch.nn.Conv2d(3, 3, 3), tmp_path / "d.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_fp16_storage_loads_as_fp32(tmp_path):
    model = _tiny("wdrn")
    full = save_model(model, tmp_path / "full.safetensors")
    half = save_model(model, tmp_path / "half.safetensors", dtype=torch.float16)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_metadata(half)["storage_dtype"] == "float16"
    loaded = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.module.parameters())
    torch.testing.assert_close(_run(loaded), _run(model), atol=2e-2, rtol=2e-2)


def test_atomic_write_keeps_previous_file(tmp_path, monkeypatch):
    path = save_model(_tiny(), tmp_path / "m.safetensors", metadata={"steps": 1})
    before = path.read_bytes()

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(_tiny(), path, metadata={"steps": 2})
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_read_metadata_reads_only_the_header(tmp_path, monkeypatch):
    path = save_model(_tiny(), tmp_path / "m.safetensors")

    def no_tensors(*args, **kwargs):
        raise AssertionError("read_metadata loaded the weights")

    monkeypatch.setattr("safetensors.torch.load_file", no_tensors)
    assert read_metadata(path)["arch"] == "srresnet"


def test_overrides_on_load(tmp_path):
    path = save_model(_tiny(), tmp_path / "m.safetensors")
    assert load_model(path, hparams={"bicubic_skip": True}).hparams["bicubic_skip"] is True
    with pytest.raises(ModelFileError, match="missing keys: body.2"):
        load_model(path, hparams={"num_blocks": 3})
    with pytest.raises(ModelFileError, match="unexpected keys: body.1"):
        load_model(path, hparams={"num_blocks": 1})
    with pytest.raises(ModelFileError, match="shape mismatches: head.0.weight"):
        load_model(path, hparams={"channels": 4})


# --- .pth / .pt -------------------------------------------------------------------------------


def test_pth_bare_state_dict_infers_srresnet(tmp_path):
    model = _tiny("srresnet", scale=4, num_blocks=3)
    path = tmp_path / "net.pth"
    torch.save(model.module.state_dict(), path)
    assert infer_srresnet_hparams(model.module.state_dict()) == {"scale": 4, "num_blocks": 3, "channels": 8}
    loaded = load_model(path)
    assert loaded.arch == "srresnet" and loaded.metadata == {}
    assert torch.equal(_run(loaded), _run(model))
    assert read_metadata(path) == {}
    # Naming the arch keeps the inference; given hparams still win.
    assert load_model(path, arch="srresnet").hparams["num_blocks"] == 3
    assert load_model(path, arch="srresnet", hparams={"bicubic_skip": True}).hparams["bicubic_skip"] is True


@pytest.mark.parametrize("wrapper", ["params_ema", "params", "state_dict", "model", "generator"])
def test_pth_wrappers_and_module_prefix(tmp_path, wrapper):
    model = _tiny("srresnet")
    state = {f"module.{k}": v for k, v in model.module.state_dict().items()}
    path = tmp_path / "net.pt"
    torch.save({wrapper: state, "iter": 100, "optimizer_name": "adam"}, path)
    assert torch.equal(_run(load_model(path)), _run(model))


def test_pth_prefers_ema_weights(tmp_path):
    ema, raw = _tiny("srresnet"), _tiny("srresnet")
    with torch.no_grad():
        raw.module.tail.weight.add_(1.0)
    path = tmp_path / "basicsr.pth"
    torch.save({"params": raw.module.state_dict(), "params_ema": ema.module.state_dict()}, path)
    assert torch.equal(_run(load_model(path)), _run(ema))


def test_pth_other_arch_needs_arch(tmp_path):
    model = _tiny("wdrn")
    path = tmp_path / "wdrn.pth"
    torch.save({"params": model.module.state_dict()}, path)
    with pytest.raises(ModelFileError, match="pass arch=") as info:
        load_model(path)
    assert str(path) in str(info.value)
    loaded = load_model(path, arch="wdrn", hparams=TINY["wdrn"])
    assert torch.equal(_run(loaded), _run(model))


class _Payload:
    """A pickle that runs a shell command when it is loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Opaque:
    """A harmless custom class: still refused, weights_only loads no objects."""

    def __init__(self):
        self.value = 3


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("legacy", [False, True])
def test_pickle_with_code_is_refused(tmp_path, legacy):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    obj = {"params": {"w": torch.zeros(2)}, "hook": _Payload(marker)}
    if legacy:  # a raw pickle, not torch's zip container
        with open(path, "wb") as fh:
            pickle.dump(obj, fh)
    else:
        torch.save(obj, path)
    with pytest.raises(ModelFileError, match="refused for safety") as info:
        load_model(path, arch="srresnet")
    assert "code" in str(info.value) and str(path) in str(info.value)
    assert not marker.exists()


def test_pickle_with_custom_object_is_refused(tmp_path):
    path = tmp_path / "obj.pt"
    torch.save({"state_dict": _tiny().module.state_dict(), "config": _Opaque()}, path)
    with pytest.raises(ModelFileError, match="refused for safety"):
        load_model(path)


# --- broken files -----------------------------------------------------------------------------


def test_truncated_and_corrupt_files(tmp_path):
    good = save_model(_tiny(), tmp_path / "good.safetensors")
    data = good.read_bytes()
    cases = {
        "truncated.safetensors": data[: len(data) // 2],
        "header_only.safetensors": data[:6],
        "text.safetensors": b"this is not a model",
        "bad_json.safetensors": _safetensors_with_metadata("{not json"),
    }
    torch.save(_tiny().module.state_dict(), tmp_path / "ok.pth")
    pth = (tmp_path / "ok.pth").read_bytes()
    cases["truncated.pth"] = pth[: len(pth) // 2]
    cases["text.pth"] = b"hello"
    for name, payload in cases.items():
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(ModelFileError) as info:
            load_model(path)
        assert str(path) in str(info.value), name
        if name == "text.pth":  # text is not a damaged model, and not "code refused for safety" either
            assert "not a model file: it is a text file" in info.value.reason
            continue
        assert "corrupt" in info.value.reason or "JSON" in info.value.reason, name


def _safetensors_with_metadata(raw: str) -> bytes:
    header = json.dumps({"__metadata__": {METADATA_KEY: raw}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    header_bytes = header.encode()
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"\0\0\0\0"


def test_unknown_arch_not_a_model_and_missing(tmp_path):
    from safetensors.torch import save_file

    unknown = tmp_path / "future.safetensors"
    save_file({"w": torch.zeros(1)}, str(unknown), metadata={METADATA_KEY: json.dumps({"arch": "hat", "hparams": {}})})
    with pytest.raises(ModelFileError, match="unknown architecture 'hat'"):
        load_model(unknown)

    foreign = tmp_path / "foreign.safetensors"
    save_file({"conv.weight": torch.zeros(1, 3, 3, 3)}, str(foreign))
    assert read_metadata(foreign) == {}
    with pytest.raises(ModelFileError, match="does not say which architecture") as info:
        load_model(foreign)  # and spandrel does not know it either
    assert "not a super-resolution model spandrel recognises" in str(info.value)

    listing = tmp_path / "list.pth"
    torch.save([1, 2, 3], listing)
    with pytest.raises(ModelFileError, match="not a model"):
        load_model(listing, arch="srresnet")
    no_tensors = tmp_path / "cfg.pth"
    torch.save({"lr": 1e-4, "epochs": 3}, no_tensors)
    with pytest.raises(ModelFileError, match="no weight tensors"):
        load_model(no_tensors, arch="srresnet")

    with pytest.raises(ModelFileError, match="file not found"):
        load_model(tmp_path / "absent.safetensors")
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(ModelFileError, match="unsupported"):
        load_model(other)
    with pytest.raises(ModelFileError, match="cannot build"):
        load_model(save_model(_tiny(), tmp_path / "m.safetensors"), hparams={"depth": 3})
