"""Community SR models (spandrel): built with random weights from spandrel's own classes, saved in
the key layouts public files use, then opened, upscaled and evaluated through the user's paths."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainer.foreign import ForeignNetwork, describe, format_params
from trainer.imageio import ImageData, read_image
from trainer.modelfile import ModelFileError, load_model

spandrel = pytest.importorskip("spandrel")
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402


def _rrdb(scale: int = 4) -> ESRGAN:
    torch.manual_seed(0)
    return ESRGAN(num_filters=8, num_blocks=1, scale=scale).eval()


def _swinir_x2() -> SwinIR:
    torch.manual_seed(1)
    return SwinIR(img_size=16, embed_dim=12, depths=[1], num_heads=[2], window_size=4, mlp_ratio=2,
                  upscale=2, upsampler="pixelshuffle").eval()


def _compact(scale: int, channels: int = 3) -> Compact:
    torch.manual_seed(2)
    return Compact(num_in_ch=channels, num_out_ch=channels, num_feat=8, num_conv=2, upscale=scale).eval()


def real_esrgan_keys(old: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """spandrel's (old ESRGAN) RRDBNet keys in the layout of Real-ESRGAN's released ``.pth`` files
    (``conv_first``, ``body.N.rdbK.convJ``, ``conv_body``, ``conv_up1/2``, ``conv_hr``, ``conv_last``)."""
    blocks = 1 + max(int(m.group(1)) for k in old if (m := re.match(r"model\.1\.sub\.(\d+)\.RDB", k)))
    last = max(int(k.split(".")[1]) for k in old if re.match(r"model\.\d+\.weight", k))
    new = {}
    for key, value in old.items():
        if m := re.fullmatch(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)", key):
            new[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = value
        elif m := re.fullmatch(rf"model\.1\.sub\.{blocks}\.(weight|bias)", key):
            new[f"conv_body.{m[1]}"] = value
        else:
            index, kind = int(key.split(".")[1]), key.split(".")[2]
            name = {0: "conv_first", last - 2: "conv_hr", last: "conv_last"}.get(index, f"conv_up{index // 3}")
            new[f"{name}.{kind}"] = value
    return new


def _save_safetensors(state: dict[str, torch.Tensor], path: Path) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def _image(path: Path, size=(40, 32), mode="RGB", seed=0) -> Path:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    smooth = (120 + 80 * np.sin(xx / 4.0) * np.cos(yy / 5.0)).astype(np.uint8)
    arr = np.stack([smooth, smooth[::-1], 255 - smooth, rng.integers(0, 256, smooth.shape, dtype=np.uint8)], 2)
    Image.fromarray(arr[:, :, : len(mode)] if mode != "L" else arr[:, :, 0], mode).save(path)
    return path


def _reference(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net(x)


# --- loading: detection, key layouts, metadata ----------------------------------------------------


def test_real_esrgan_pth_with_params_ema_opens_as_esrgan(tmp_path):
    net = _rrdb()
    path = tmp_path / "RealESRGAN_x4plus.pth"
    torch.save({"params_ema": real_esrgan_keys(net.state_dict()), "params": {"junk": torch.zeros(1)}}, path)
    model = load_model(path)
    assert (model.arch, model.scale, model.channels, model.kind, model.backend) == ("ESRGAN", 4, 3, "generator", "torch")
    assert model.source == path and isinstance(model.module, ForeignNetwork)
    params = sum(p.numel() for p in net.parameters())
    assert model.metadata["parameters"] == params and model.metadata["tags"] == ["8nf", "1nb"]
    assert model.metadata["description"] == f"ESRGAN 4x, {format_params(params)} parameters (8nf, 1nb)"
    x = torch.rand(1, 3, 12, 10)
    torch.testing.assert_close(_reference(model.module, x), _reference(net, x))  # the same weights, the same net


def test_old_esrgan_layout_with_module_prefix_and_safetensors(tmp_path):
    net = _rrdb()
    pth = tmp_path / "old.pth"
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, pth)  # DataParallel-saved, old keys
    st = _save_safetensors(net.state_dict(), tmp_path / "old.safetensors")
    x = torch.rand(1, 3, 9, 11)
    for path in (pth, st):
        model = load_model(path)
        assert (model.arch, model.scale) == ("ESRGAN", 4), path
        torch.testing.assert_close(_reference(model.module, x), _reference(net, x))


def test_zoo_and_upscaler_open_a_foreign_file_by_path(tmp_path):
    from trainer import zoo
    from trainer.inference import Upscaler

    path = _save_safetensors(_compact(4).state_dict(), tmp_path / "compact.safetensors")
    entry = zoo.find_model(str(path))
    assert entry.source == "file" and entry.metadata == {}  # no project header: opened by loading
    model = zoo.load(str(path))
    assert (model.arch, model.scale, model.metadata["architecture"]) == ("Compact", 4, "RealESRGAN Compact")
    out = Upscaler(model, device="cpu", tile=0).upscale_array(np.zeros((7, 9, 3), np.uint8))
    assert out.shape == (28, 36, 3)


# --- any scale through srgan-upscale ----------------------------------------------------------------


@pytest.mark.parametrize(
    "make, scale, suffix",
    [(lambda: real_esrgan_keys(_rrdb().state_dict()), 4, ".pth"), (lambda: _compact(4).state_dict(), 4, ".safetensors"),
     (lambda: _swinir_x2().state_dict(), 2, ".safetensors"), (lambda: _compact(1).state_dict(), 1, ".pth"),
     (lambda: _compact(3).state_dict(), 3, ".safetensors"), (lambda: _rrdb(8).state_dict(), 8, ".safetensors")],
    ids=["real-esrgan-x4", "compact-x4", "swinir-x2", "compact-x1", "compact-x3", "esrgan-x8"],
)
def test_srgan_upscale_with_foreign_models_of_every_scale(tmp_path, capsys, make, scale, suffix):
    from trainer.cli.upscale import main

    model = tmp_path / f"net{suffix}"
    if suffix == ".pth":
        torch.save({"params_ema": make()}, model)
    else:
        _save_safetensors(make(), model)
    src = _image(tmp_path / "a.png", size=(21, 17))
    rgba = _image(tmp_path / "b.png", size=(12, 10), mode="RGBA", seed=3)
    assert main([str(src), str(rgba), "-o", str(tmp_path / "out"), "--model", str(model), "-q"]) == 0, capsys.readouterr().err
    out = read_image(tmp_path / "out" / f"a_x{scale}.png")
    assert out.pixels.shape == (17 * scale, 21 * scale, 3)
    out_rgba = read_image(tmp_path / "out" / f"b_x{scale}.png")
    assert out_rgba.pixels.shape == (10 * scale, 12 * scale, 3) and out_rgba.alpha.shape == (10 * scale, 12 * scale)


def test_tiles_match_the_whole_image_at_scale_3(tmp_path):
    from trainer.inference import Upscaler

    model = load_model(_save_safetensors(_compact(3).state_dict(), tmp_path / "c3.safetensors"))
    img = read_image(_image(tmp_path / "a.png", size=(45, 38)))
    whole = Upscaler(model, device="cpu", tile=0).upscale(img).pixels
    tiled = Upscaler(model, device="cpu", tile=16, context=8).upscale(img).pixels
    assert whole.shape == (38 * 3, 45 * 3, 3)
    assert int(np.abs(whole.astype(int) - tiled.astype(int)).max()) <= 1


# --- the adapter: size requirements, grey and RGBA networks -----------------------------------------


class _Picky(torch.nn.Module):
    """A 2x 'network' that only accepts square inputs, at least 16 px, multiples of 8."""

    def forward(self, x):
        h, w = x.shape[-2:]
        assert h == w and h >= 16 and h % 8 == 0, (h, w)
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")


def test_adapter_pads_to_the_size_requirements_and_crops_the_output():
    net = ForeignNetwork(_Picky(), scale=2, minimum=16, multiple_of=8, square=True)
    x = torch.rand(1, 3, 5, 11)
    y = net(x)
    assert y.shape == (1, 3, 10, 22)
    torch.testing.assert_close(y, torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


def test_grey_model_upscales_luma_and_keeps_colour(tmp_path):
    from trainer.inference import Upscaler

    grey_net = _compact(2, channels=1)
    path = _save_safetensors(grey_net.state_dict(), tmp_path / "grey.safetensors")
    model = load_model(path)
    assert model.channels == 1 and "grey" in model.metadata["description"]
    up = Upscaler(model, device="cpu", tile=0)
    grey = np.array(Image.open(_image(tmp_path / "g.png", size=(14, 12), mode="L")))
    out = up.upscale_array(grey)
    assert out.shape == (24, 28)  # a grey image stays grey ...
    expected = _reference(grey_net, torch.from_numpy(grey).float()[None, None] / 255)[0, 0].clamp(0, 1)
    assert np.abs(out.astype(int) - np.rint(expected.numpy() * 255).astype(int)).max() <= 1  # ... and is the net's
    colour = np.zeros((12, 14, 3), np.uint8)
    colour[..., 0] = 200  # red stays red: the chroma is upscaled, not dropped
    out = up.upscale_array(colour)
    assert out.shape == (24, 28, 3) and (out[..., 0].astype(int) - out[..., 1]).min() > 100


def test_rgba_network_gets_opaque_alpha_and_gives_colour():
    calls = []

    class Four(torch.nn.Module):
        def forward(self, x):
            calls.append(x)
            return x

    net = ForeignNetwork(Four(), scale=1, in_channels=4, out_channels=4)
    x = torch.rand(1, 3, 6, 6)
    torch.testing.assert_close(net(x), x)
    assert calls[0].shape[1] == 4 and bool((calls[0][:, 3] == 1).all())


def test_describe_and_format_params():
    assert format_params(16_697_987) == "16.7M" and format_params(999) == "999"
    assert describe("SwinIR", 2, 11_900_000, ["small"]) == "SwinIR 2x, 11.9M parameters (small)"


# --- srgan-eval at each model's own scale -------------------------------------------------------------


def test_srgan_eval_compares_models_of_different_scales(tmp_path, capsys):
    from trainer.cli.evaluate import main
    from trainer.evaluation import evaluate_set, model_upscale_fn

    data = tmp_path / "set"
    data.mkdir()
    _image(data / "x.png", size=(48, 40))
    x4 = tmp_path / "esrgan.pth"
    torch.save({"params_ema": real_esrgan_keys(_rrdb().state_dict())}, x4)
    x2 = _save_safetensors(_swinir_x2().state_dict(), tmp_path / "swinir.safetensors")
    x1 = _save_safetensors(_compact(1).state_dict(), tmp_path / "denoise.safetensors")
    report = tmp_path / "r.json"
    argv = ["--model", str(x4), str(x2), str(x1), "--datasets", str(data), "--json", str(report)]
    assert main(argv) == 0, capsys.readouterr().err
    table = capsys.readouterr().out
    got = json.loads(report.read_text())
    assert set(got) == {"bicubic x2", "bicubic x4", "esrgan x4", "swinir x2", "denoise x1 (HR as input)"}
    assert "denoise x1 (HR as input)" in table and "bicubic x1" not in table
    assert {m: got[m]["set"]["scale"] for m in got} == {
        "bicubic x2": 2, "bicubic x4": 4, "esrgan x4": 4, "swinir x2": 2, "denoise x1 (HR as input)": 1}
    expected = evaluate_set(data, model_upscale_fn(load_model(x2), "cpu"), 2)  # the protocol at 2x, shave 2
    assert got["swinir x2"]["set"]["psnr"] == pytest.approx(expected.psnr, abs=1e-6)


# --- refused files ------------------------------------------------------------------------------------


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickle_that_wants_to_run_code_is_refused_before_spandrel(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"params_ema": real_esrgan_keys(_rrdb().state_dict()), "hook": _Payload(marker)}, fh)
    with pytest.raises(ModelFileError, match="refused for safety") as info:
        load_model(path)
    assert str(path) in str(info.value) and not marker.exists()


def test_text_file_named_pth_is_not_a_model_file(tmp_path):
    path = tmp_path / "4x_model.pth"
    path.write_text("<!DOCTYPE html><html><body>Download limit reached</body></html>\n")
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value) == f"{path}: not a model file: it is a text file, not PyTorch weights (a web page or a " \
                              "note saved under a model's name?)"


def test_unknown_state_dict_is_refused_in_one_line(tmp_path):
    path = tmp_path / "mystery.pth"
    torch.save({"encoder.weight": torch.zeros(4, 3, 3, 3), "decoder.weight": torch.zeros(3, 4, 3, 3)}, path)
    with pytest.raises(ModelFileError, match="not a super-resolution model spandrel recognises") as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_detected_architecture_with_wrong_weights_is_refused(tmp_path):
    state = real_esrgan_keys(_rrdb().state_dict())
    state["conv_body.weight"] = torch.zeros(3, 3, 1, 1)  # the wrong shape for 8 features
    path = _save_safetensors(state, tmp_path / "broken.safetensors")
    with pytest.raises(ModelFileError, match="spandrel could not build the network") as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow
def test_inpainting_model_is_refused(tmp_path):
    from safetensors.torch import save_file
    from spandrel.architectures.LaMa import LaMa

    with torch.device("meta"):  # only the key layout is needed; spandrel builds its own network
        keys = LaMa().state_dict()
    path = tmp_path / "big-lama.safetensors"
    save_file({k: torch.zeros(v.shape, dtype=v.dtype) for k, v in keys.items()}, str(path))
    with pytest.raises(ModelFileError, match="LaMa is an inpainting model") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_a_community_model_is_not_saved_with_a_project_header(tmp_path):
    from trainer.modelfile import save_model

    model = load_model(_save_safetensors(_compact(4).state_dict(), tmp_path / "c.safetensors"))
    with pytest.raises(ValueError, match="community model"):
        save_model(model, tmp_path / "copy.safetensors")  # its header would name an arch the registry lacks
    assert not (tmp_path / "copy.safetensors").exists()


def test_project_files_still_load_through_the_registry(tmp_path):
    from trainer.modelfile import save_model
    from trainer.models import build_model

    torch.manual_seed(0)
    own = build_model("srresnet", channels=4, num_blocks=1)
    assert load_model(save_model(own, tmp_path / "own.safetensors")).arch == "srresnet"
    torch.save(own.module.state_dict(), tmp_path / "own.pth")  # SRResNet-shaped keys: inferred, not spandrel
    loaded = load_model(tmp_path / "own.pth")
    assert loaded.arch == "srresnet" and not isinstance(loaded.module, ForeignNetwork)


def _finish(gen):
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def test_app_evaluation_compares_a_2x_model_with_a_4x_one_at_their_own_scales(tmp_path):
    """The app's jobs (Qt-free): evaluation at the first model's scale, then a model of another
    scale compared on the same ground truth, measured at its own scale, shown on the same canvas."""
    from trainer.app.jobs import JobOptions, compare_item, process_item
    from trainer.evaluation import evaluate_set, model_upscale_fn

    x4 = tmp_path / "realesr-general-x4v3.pth"
    torch.save({"params": _compact(4).state_dict()}, x4)  # Real-ESRGAN's compact files use "params"
    x2 = _save_safetensors(_swinir_x2().state_dict(), tmp_path / "swinir_x2.safetensors")
    data = tmp_path / "gt"
    data.mkdir()
    gt = _image(data / "gt.png", size=(42, 34))  # 42x34: HR crops 40x32 at 4x, 42x34 at 2x
    first = _finish(process_item(gt, None, JobOptions(model=str(x4), device="cpu", evaluate=True)))
    assert first.scale == 4 and first.layers["sr"].pixels.shape == (32, 40, 3)
    both = _finish(compare_item(first, JobOptions(model=str(x2), device="cpu", evaluate=True)))
    assert both.layers["sr2"].pixels.shape == (32, 40, 3) and "x2, shown at x4" in both.layers["sr2"].title
    expected = evaluate_set(data, model_upscale_fn(load_model(x2), "cpu"), 2)  # srgan-eval's figure at 2x
    assert both.scores["sr2"].psnr == pytest.approx(expected.psnr, abs=1e-6)


def test_install_copies_a_community_model_into_the_user_models(tmp_path, monkeypatch):
    """File > Install model into my models: the weights are written as plain safetensors (no
    project header), listed as the user's model with its architecture, and load the same net."""
    from trainer import zoo
    from trainer.app.model_choices import import_model_file, load_environment

    monkeypatch.setenv("SRGAN_USER_DIR", str(tmp_path / "user"))
    net = _rrdb()
    source = tmp_path / "RealESRGAN x4plus.pth"
    torch.save({"params_ema": real_esrgan_keys(net.state_dict())}, source)
    choice = import_model_file(source)
    assert (choice.name, choice.source, choice.scale, choice.arch) == ("RealESRGAN_x4plus", "user", 4, "ESRGAN")
    assert choice.label.startswith("RealESRGAN_x4plus x4 (yours)") and "ESRGAN, 226.1k" in choice.label
    listed = [m for m in load_environment().models if m.name == "RealESRGAN_x4plus"]
    assert len(listed) == 1 and listed[0].error is None and listed[0].arch == "ESRGAN"
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(_reference(zoo.load("RealESRGAN_x4plus").module, x), _reference(net, x))
