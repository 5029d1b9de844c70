"""The OpenVINO CPU backend behind the engine (issue 16, item 6): same output as PyTorch within one
level, fallback to PyTorch with the reason, cancel inside a forward, and the backend choices.

Named ``zz`` to run after the training tests: with these OpenVINO engines earlier in the same pytest
process, a later test whose DataLoader forks workers (test_train_data.py) crashed pytest with SIGSEGV
(not reproduced outside pytest, nor with its faulthandler, timeout or fd capture off; open problem)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

pytest.importorskip("openvino")

from trainer.imageio import ImageData  # noqa: E402
from trainer.inference import UpscaleCancelled, Upscaler  # noqa: E402
from trainer.inference.backends import resolve_backend  # noqa: E402


def _tiny(blocks: int = 1, channels: int = 8) -> nn.Module:
    from trainer.models import build

    torch.manual_seed(0)
    model = build("srresnet", num_blocks=blocks, channels=channels)
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 3, 16, 16))
    return model.eval()


def _levels(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def test_openvino_matches_torch_within_one_level():
    model = _tiny()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)
    alpha = np.tile(np.linspace(0, 255, 41).astype(np.uint8), (30, 1))
    ov = Upscaler(model, backend="openvino", tile=16)
    ref = Upscaler(model, backend="torch", tile=16)
    assert ov.backend == "openvino" and ov.backend_label == "openvino" and ov.precision == "fp32"
    events = list(ov.run(ImageData(pixels=pixels, alpha=alpha)))
    done = events[-1]
    assert done.backend == "openvino" and done.precision == "fp32"
    expected = ref.upscale(ImageData(pixels=pixels, alpha=alpha))
    assert done.image.pixels.shape == (120, 164, 3)
    assert _levels(done.image.pixels, expected.pixels) <= 1 and _levels(done.image.alpha, expected.alpha) <= 1
    grey = pixels[:, :, 0]
    assert _levels(ov.upscale_array(grey), ref.upscale_array(grey)) <= 1  # grey: other shape, same compile


class _HostRoundTrip(nn.Module):
    """Runs in PyTorch, but its graph cannot be exported (it leaves torch through numpy)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        y = torch.from_numpy(np.ascontiguousarray(self.conv(x).numpy()))
        return F.interpolate(y, scale_factor=2, mode="nearest")


def test_a_network_openvino_cannot_reproduce_falls_back_to_torch_with_the_reason(caplog):
    torch.manual_seed(0)
    model = _HostRoundTrip().eval()
    with caplog.at_level("WARNING"):
        up = Upscaler(model, backend="openvino")
    assert up.backend == "torch" and up.backend_note
    assert up.backend_label.startswith("torch (openvino failed: ") and up.backend_note in caplog.text
    img = np.random.default_rng(1).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    with torch.inference_mode():
        expected = model(torch.from_numpy(img.transpose(2, 0, 1)[None].astype(np.float32) / 255))
    got = up.upscale_array(img)
    assert _levels(got, np.rint(expected[0].clamp(0, 1).numpy().transpose(1, 2, 0) * 255)) <= 1
    assert list(up.run(ImageData(pixels=img)))[-1].backend == "torch"


def test_a_failure_on_a_later_input_switches_to_torch_and_says_why(monkeypatch):
    from trainer.inference.openvino_backend import OpenVinoForward

    model = _tiny()
    up = Upscaler(model, backend="openvino")
    ref = Upscaler(model, backend="torch")

    def broken(self, x, cancel=None):
        raise RuntimeError("Exception from src/plugins/intel_cpu: shape inference failed")

    monkeypatch.setattr(OpenVinoForward, "forward", broken)
    img = np.random.default_rng(2).integers(0, 256, (20, 22, 3), dtype=np.uint8)
    assert _levels(up.upscale_array(img), ref.upscale_array(img)) <= 1
    assert up.backend == "torch" and "22x20" in up.backend_note and "shape inference failed" in up.backend_label


def test_cancel_stops_an_openvino_forward_inside_the_tile():
    up = Upscaler(_tiny(blocks=4, channels=32), backend="openvino", tile=0)
    cancel = threading.Event()
    timer = threading.Timer(0.05, cancel.set)  # the whole image is one forward of ~1 s on a 2-core CPU
    img = ImageData(pixels=np.zeros((384, 384, 3), np.uint8))
    timer.start()
    try:
        with pytest.raises(UpscaleCancelled):
            up.upscale(img, cancel=cancel)
    finally:
        timer.cancel()
    small = np.zeros((8, 8, 3), np.uint8)
    assert up.upscale_array(small).shape == (32, 32, 3)  # the request is usable after a cancel


def test_backend_choice_rules(monkeypatch):
    monkeypatch.delenv("SRGAN_BACKEND", raising=False)  # tests/conftest.py sets it to torch
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    # auto is PyTorch everywhere (OpenVINO measured 1.07x end to end here: offered, not the default)
    assert resolve_backend("auto", cpu) == "torch"
    assert resolve_backend("auto", cpu, "fp16") == "torch"
    assert resolve_backend("auto", cuda) == "torch"
    assert resolve_backend("torch", cpu) == "torch"
    with pytest.raises(ValueError, match="runs on the CPU"):
        resolve_backend("openvino", cuda)
    with pytest.raises(ValueError, match="fp32 only"):
        resolve_backend("openvino", cpu, "bf16")
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("tensorrt", cpu)
    monkeypatch.setenv("SRGAN_BACKEND", "openvino")  # what auto means, as SRGAN_DEVICE for the device
    assert resolve_backend("auto", cpu) == "openvino" and resolve_backend("torch", cpu) == "torch"


def test_backend_flags():
    from trainer.cli.evaluate import build_parser as eval_parser
    from trainer.cli.upscale import build_parser as upscale_parser

    assert upscale_parser().parse_args(["a.png", "-o", "out"]).backend == "auto"
    assert upscale_parser().parse_args(["a.png", "-o", "out", "--backend", "torch"]).backend == "torch"
    assert eval_parser().parse_args(["--backend", "openvino"]).backend == "openvino"
    for parser, argv in ((upscale_parser(), ["a.png", "-o", "out"]), (eval_parser(), [])):
        with pytest.raises(SystemExit):
            parser.parse_args([*argv, "--backend", "cuda"])


def test_backend_settings_reach_the_engines(tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_BACKEND", "openvino")  # auto: OpenVINO on the CPU
    from trainer.modelfile import save_model
    from trainer.models import build_model
    from trainer.pipeline import EngineCache, EngineSettings

    torch.manual_seed(0)
    path = save_model(build_model("srresnet", num_blocks=1, channels=4), tmp_path / "m.safetensors")
    cache = EngineCache()
    assert cache.get(str(path), EngineSettings(device="cpu", backend="torch")).backend == "torch"
    assert cache.get(str(path), EngineSettings(device="cpu")).backend == "openvino"
    assert cache.backends() == ["torch fp32", "openvino fp32"]
    assert cache.whole_image_fn(str(path), "cpu", "openvino").backend_label == "openvino"


def test_srgan_upscale_says_what_ran(tmp_path, capsys):
    from PIL import Image

    from trainer.cli.upscale import main
    from trainer.modelfile import save_model
    from trainer.models import build_model

    torch.manual_seed(0)
    model = save_model(build_model("srresnet", num_blocks=1, channels=4), tmp_path / "m.safetensors")
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(tmp_path / "a.png")
    for backend in ("torch", "openvino"):
        argv = [str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "-m", str(model), "-q", "--backend", backend]
        assert main(argv) == 0
        assert f"ran with: {backend} fp32" in capsys.readouterr().out
    assert main([str(tmp_path / "a.png"), "-o", str(tmp_path / "o2"), "-m", str(model), "--backend", "openvino",
                 "--precision", "fp16"]) == 2
    assert "fp32 only" in capsys.readouterr().err


# --- the on-disk cache of checked models (trainer.inference.openvino_cache) -------------------------


def _entries(root) -> list:
    folder = root / "openvino"
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != "compiled") if folder.is_dir() else []


def test_a_checked_model_is_cached_and_the_next_engine_skips_export_and_check(tmp_path, monkeypatch):
    import trainer.export as export
    from trainer.inference import openvino_backend

    monkeypatch.setenv("SRGAN_CACHE_DIR", str(tmp_path))
    model = _tiny(channels=6)
    first = Upscaler(model, backend="openvino")
    assert first.backend == "openvino" and not first.openvino_cached
    assert len(_entries(tmp_path)) == 1
    entry = tmp_path / "openvino" / _entries(tmp_path)[0]
    assert (entry / "model.xml").is_file() and (entry / "model.bin").is_file() and (entry / "info.json").is_file()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cache hit must not export or check again")

    monkeypatch.setattr(export, "to_onnx", must_not_run)
    monkeypatch.setattr(openvino_backend, "self_check", must_not_run)
    second = Upscaler(model, backend="openvino")
    assert second.backend == "openvino" and second.openvino_cached and second.info == first.info
    assert second._fp32 is None  # no PyTorch copy prepared while OpenVINO runs
    img = np.random.default_rng(3).integers(0, 256, (19, 23, 3), dtype=np.uint8)
    assert _levels(second.upscale_array(img), Upscaler(model, backend="torch").upscale_array(img)) <= 1


def test_other_weights_get_their_own_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_CACHE_DIR", str(tmp_path))
    model = _tiny(channels=6)
    Upscaler(model, backend="openvino")
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    other = Upscaler(model, backend="openvino")
    assert not other.openvino_cached and len(_entries(tmp_path)) == 2


def test_a_broken_entry_is_rebuilt_and_the_output_stays_right(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SRGAN_CACHE_DIR", str(tmp_path))
    model = _tiny(channels=6)
    Upscaler(model, backend="openvino")
    entry = tmp_path / "openvino" / _entries(tmp_path)[0]
    (entry / "model.xml").write_text("<not a model")
    with caplog.at_level("WARNING"):
        up = Upscaler(model, backend="openvino")
    assert up.backend == "openvino" and not up.openvino_cached and "rebuilding" in caplog.text
    img = np.random.default_rng(4).integers(0, 256, (17, 15, 3), dtype=np.uint8)
    assert _levels(up.upscale_array(img), Upscaler(model, backend="torch").upscale_array(img)) <= 1
    assert Upscaler(model, backend="openvino").openvino_cached  # the rebuilt entry is good again


def test_a_failed_check_is_not_cached_and_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_CACHE_DIR", str(tmp_path))
    up = Upscaler(_HostRoundTrip().eval(), backend="openvino")
    assert up.backend == "torch" and _entries(tmp_path) == []
    monkeypatch.setenv("SRGAN_CACHE_DIR", "off")
    assert Upscaler(_tiny(channels=6), backend="openvino").backend == "openvino"
    assert not (tmp_path / "openvino").exists() or _entries(tmp_path) == []


def test_a_cached_engine_that_fails_later_prepares_torch_then(tmp_path, monkeypatch):
    from trainer.inference.openvino_backend import OpenVinoForward

    monkeypatch.setenv("SRGAN_CACHE_DIR", str(tmp_path))
    model = _tiny(channels=6)
    Upscaler(model, backend="openvino")
    up = Upscaler(model, backend="openvino")
    assert up.openvino_cached and up._fp32 is None

    def broken(self, x, cancel=None):
        raise RuntimeError("shape inference failed")

    monkeypatch.setattr(OpenVinoForward, "forward", broken)
    img = np.random.default_rng(5).integers(0, 256, (14, 18, 3), dtype=np.uint8)
    assert _levels(up.upscale_array(img), Upscaler(model, backend="torch").upscale_array(img)) <= 1
    assert up.backend == "torch" and up._fp32 is not None and "shape inference failed" in up.backend_label


def test_a_model_the_key_cannot_read_runs_uncached(tmp_path, monkeypatch):
    from trainer.inference import openvino_cache

    def unreadable(*args, **kwargs):
        raise TypeError("sparse tensors have no bytes")

    monkeypatch.setenv("SRGAN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(openvino_cache, "model_key", unreadable)
    up = Upscaler(_tiny(channels=6), backend="openvino")
    assert up.backend == "openvino" and not up.openvino_cached and _entries(tmp_path) == []
