"""Inference engine: tiled == whole, colour modes, events, cancel, OOM fallback, model rewrites."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainer.imageio import ImageData
from trainer.inference import (
    TileDone,
    TilesPlanned,
    TileTooSmallError,
    UpscaleCancelled,
    UpscaleFinished,
    Upscaler,
)
from trainer.inference import memory
from trainer.inference.fusion import FusedConv
from trainer.inference.optimize import prepare_for_inference, subpixel_conv, survey
from trainer.inference.tiling import plan_axis, ramp_weights
from trainer.models import build


def _tiny(seed: int = 0, **hp) -> nn.Module:
    """Tiny SRResNet whose BatchNorm statistics are not the identity (so folding is really tested)."""
    torch.manual_seed(seed)
    hp = {"channels": 8, "num_blocks": 2, "bicubic_skip": True, **hp}
    model = build("srresnet", **hp)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(2, 3, 12, 12))
    return model.eval()


@pytest.fixture(scope="module")
def tiny() -> nn.Module:
    return _tiny()


def _rgb(h: int, w: int, seed: int = 1, dtype=np.uint8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Smooth content plus noise: realistic ranges without saturating the output.
    yy, xx = np.mgrid[0:h, 0:w]
    base = 0.5 + 0.3 * np.sin(xx[..., None] / 5.0 + np.arange(3)) * np.cos(yy[..., None] / 7.0)
    img = np.clip(base + rng.normal(0, 0.05, (h, w, 3)), 0, 1)
    return np.round(img * np.iinfo(dtype).max).astype(dtype)


def _maxdiff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape and a.dtype == b.dtype
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


class NearestUp(nn.Module):
    """Fake 4x 'model': nearest-neighbour upscaling (an identity for alpha semantics)."""

    scale = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=4, mode="nearest")


class OOMAbove(nn.Module):
    """Wraps a model and raises an out-of-memory error for inputs larger than ``limit`` pixels."""

    def __init__(self, inner: nn.Module, limit: int, exc: type[Exception] = torch.OutOfMemoryError) -> None:
        super().__init__()
        self.inner, self.limit, self.exc = inner, limit, exc
        self.seen: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape[-2:]))
        if x.shape[-2] * x.shape[-1] > self.limit:
            raise self.exc("CUDA out of memory. Tried to allocate 20.00 GiB (fake)")
        return self.inner(x)


# ---------------------------------------------------------------- tiling geometry
@pytest.mark.parametrize("length,tile,overlap,context", [(100, 32, 8, 12), (65, 64, 8, 3), (127, 17, 8, 5), (50, 7, 3, 2), (1, 8, 4, 4)])
def test_plan_axis_covers_with_partition_of_unity(length, tile, overlap, context):
    spans = plan_axis(length, tile, overlap, context)
    total = np.zeros(length * 4)
    for i, sp in enumerate(spans):
        assert sp.end - sp.start <= max(tile, 1) or len(spans) == 1
        assert sp.win_start <= sp.start and sp.end <= sp.win_end and 0 <= sp.win_start and sp.win_end <= length
        assert sp.win_end - sp.win_start == spans[0].win_end - spans[0].win_start  # batchable
        total[sp.start * 4 : sp.end * 4] += ramp_weights(spans, i, 4)
    for a, b in zip(spans, spans[2:]):
        assert b.start >= a.end  # never three tiles deep
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


# ---------------------------------------------------------------- tiled == whole
@pytest.fixture(scope="module")
def odd_image(tiny) -> tuple[np.ndarray, np.ndarray]:
    """An odd-sized image (larger than tile + 2 * context, so windows really are partial) and its
    whole-image upscale."""
    img = _rgb(45, 61)
    return img, Upscaler(tiny, tile=0).upscale_array(img)


@pytest.mark.parametrize("tile", [10, 16, 21])  # 16 divides neither side; 10/21 leave odd remainders
def test_tiled_equals_whole(tiny, odd_image, tile):
    img, whole = odd_image
    assert whole.shape == (180, 244, 3)
    up = Upscaler(tiny, tile=tile)
    assert img.shape[1] > tile + 2 * up.context
    assert _maxdiff(up.upscale_array(img), whole) <= 1


def test_whole_matches_naive_forward(tiny):
    img = _rgb(20, 24)
    with torch.no_grad():
        y = tiny(torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255)
    naive = (y.clamp(0, 1) * 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert _maxdiff(Upscaler(tiny, tile=0).upscale_array(img), naive) <= 1


@pytest.mark.parametrize("shape", [(1, 41), (37, 1), (2, 33), (1, 1)])
def test_strips_tiled_equals_whole(tiny, shape):
    img = _rgb(*shape, seed=3)
    whole = Upscaler(tiny, tile=0).upscale_array(img)
    tiled = Upscaler(tiny, tile=8).upscale_array(img)
    assert whole.shape == (shape[0] * 4, shape[1] * 4, 3)
    assert _maxdiff(tiled, whole) <= 1


def test_small_context_is_worse_than_default(tiny, odd_image):
    """The context padding is what makes tiles exact: without it the seams are measurable."""
    img, whole = odd_image
    bare = Upscaler(tiny, tile=16, context=0, overlap=0).upscale_array(img)
    assert _maxdiff(bare, whole) > 1


# ---------------------------------------------------------------- modes
def test_grey_stays_grey_and_16bit_stays_16bit(tiny):
    grey = _rgb(21, 17)[:, :, :1]
    out = Upscaler(tiny, tile=8).upscale(ImageData(pixels=grey))
    assert out.pixels.shape == (84, 68, 1) and out.pixels.dtype == np.uint8 and out.mode == "L"
    img16 = _rgb(19, 23, dtype=np.uint16)
    whole = Upscaler(tiny, tile=0).upscale(ImageData(pixels=img16))
    tiled = Upscaler(tiny, tile=8).upscale(ImageData(pixels=img16))
    assert tiled.pixels.dtype == np.uint16 and tiled.pixels.shape == (76, 92, 3) and tiled.mode == "RGB;16"
    assert _maxdiff(tiled.pixels, whole.pixels) <= 257  # 1/255 of full scale
    # 16-bit precision is really kept (not 8-bit values scaled up).
    assert np.any(tiled.pixels % 257 != 0)
    grey16 = Upscaler(tiny, tile=8).upscale(ImageData(pixels=img16[:, :, :1]))
    assert grey16.pixels.dtype == np.uint16 and grey16.pixels.shape == (76, 92, 1)


def test_alpha_premultiplied_and_upscaled_separately():
    h, w = 12, 10
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[:, :, 0] = 200
    pixels[:, :5] = (10, 250, 30)  # green under the transparent half must not leak
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, :5] = 0
    alpha[:, 7] = 128
    img = ImageData(pixels=pixels, alpha=alpha, icc_profile=b"icc", exif=b"Exif\x00\x00", dpi=(72.0, 72.0))
    events = list(Upscaler(NearestUp(), tile=4).run(img))
    out = events[-1].image
    assert out.mode == "RGBA" and out.alpha.shape == (48, 40) and out.alpha.dtype == np.uint8
    np.testing.assert_array_equal(out.alpha, np.repeat(np.repeat(alpha, 4, 0), 4, 1))
    opaque = out.alpha > 0
    assert np.all(out.pixels[opaque] == (200, 0, 0))  # straight colour restored, half alpha included
    assert np.all(out.pixels[~opaque] == 0)
    assert (out.icc_profile, out.exif, out.dpi) == (b"icc", b"Exif\x00\x00", (72.0, 72.0))
    # The alpha pass doubles the tile count.
    rgb_only = list(Upscaler(NearestUp(), tile=4).run(ImageData(pixels=pixels)))
    assert events[0].total == 2 * rgb_only[0].total == sum(isinstance(e, TileDone) for e in events)


def test_alpha_modes_sizes_and_constant_alpha(tiny):
    rgb = _rgb(13, 11)
    alpha = np.linspace(0, 65535, 13 * 11).reshape(13, 11).astype(np.uint16)
    img16 = ImageData(pixels=rgb.astype(np.uint16) * 257, alpha=alpha)
    for mode in ("model", "bicubic"):
        out = Upscaler(tiny, tile=8, alpha=mode).upscale(img16)
        assert out.pixels.shape == (52, 44, 3) and out.alpha.shape == (52, 44)
        assert out.alpha.dtype == np.uint16 and out.mode == "RGBA;16"
    opaque = ImageData(pixels=rgb[:, :, :1], alpha=np.full((13, 11), 255, np.uint8))
    events = list(Upscaler(tiny, tile=0).run(opaque))
    assert events[0] == TilesPlanned(1, 0)  # constant alpha: no model pass for it
    out = events[-1].image
    assert out.mode == "LA" and np.all(out.alpha == 255) and out.pixels.shape == (52, 44, 1)


# ---------------------------------------------------------------- events, cancel, OOM
def test_events_sequence(tiny):
    events = list(Upscaler(tiny, tile=8).run(ImageData(pixels=_rgb(20, 30))))
    planned, done, finished = events[0], events[1:-1], events[-1]
    assert isinstance(planned, TilesPlanned) and planned.tile_size == 8
    assert [e.done for e in done] == list(range(1, planned.total + 1))
    assert all(isinstance(e, TileDone) and e.total == planned.total for e in done)
    assert isinstance(finished, UpscaleFinished) and finished.device == "cpu" and finished.tile_size == 8
    assert finished.image.pixels.shape == (80, 120, 3) and finished.seconds > 0


def test_cancel_stops_within_one_tile(tiny):
    cancel = threading.Event()
    up = Upscaler(tiny, tile=8)
    seen_after = 0
    with pytest.raises(UpscaleCancelled):
        for event in up.run(ImageData(pixels=_rgb(40, 40)), cancel=cancel):
            if isinstance(event, TileDone):
                if cancel.is_set():
                    seen_after += 1
                if event.done == 2:
                    cancel.set()
    assert seen_after == 0


def test_cancel_stops_inside_the_network_forward():
    """A whole-image forward (one tile) stops at the next layer once the event is set: the check
    runs before each sub-module, so cancelling a slow single-tile image takes one layer, not the
    whole forward. The event set from another thread half-way through the forward is seen there."""
    torch.manual_seed(0)
    model = build("srresnet", num_blocks=8, channels=16, scale=4)
    up = Upscaler(model, tile=0, device="cpu", backend="torch")  # the per-layer hooks are PyTorch's
    calls: list[str] = []
    cancel = threading.Event()

    def count(module, _inputs):  # runs after the engine's own check (registered later)
        calls.append(type(module).__name__)
        if len(calls) == 12:  # part-way through the residual blocks
            threading.Thread(target=cancel.set).start()
            cancel.wait(5)

    handles = [m.register_forward_pre_hook(count) for name, m in up.model.named_modules() if name]
    with pytest.raises(UpscaleCancelled):
        list(up.run(ImageData(pixels=_rgb(32, 32)), cancel=cancel))
    total = sum(1 for name, _ in up.model.named_modules() if name)
    assert len(calls) == 12 < total  # stopped at the very next layer
    for h in handles:
        h.remove()
    calls.clear()
    assert list(up.run(ImageData(pixels=_rgb(8, 8))))[-1].image.pixels.shape == (32, 32, 3)  # no stale cancel


@pytest.mark.parametrize("exc", [torch.OutOfMemoryError, RuntimeError])
def test_oom_halves_tile_and_result_is_correct(tiny, exc):
    img = _rgb(60, 64)
    whole = Upscaler(tiny, tile=0).upscale_array(img)
    fake = OOMAbove(tiny, limit=45 * 45, exc=exc)  # windows are tile + 2 * 14 context
    up = Upscaler(fake, tile=0, min_tile=4, backend="torch")  # the fake OOM is raised by the PyTorch forward
    assert up.context == 14
    events = list(up.run(ImageData(pixels=img)))
    planned = [e for e in events if isinstance(e, TilesPlanned)]
    assert [p.tile_size for p in planned] == [0, 32, 16]
    finished = events[-1]
    assert finished.tile_size == planned[-1].tile_size
    done = [e for e in events if isinstance(e, TileDone)]
    assert done[-1].done == done[-1].total == planned[-1].total  # every tile of the final plan ran
    assert _maxdiff(finished.image.pixels, whole) <= 1


def test_oom_below_minimum_tile_is_a_clear_error(tiny):
    fake = OOMAbove(tiny, limit=500)  # the 20x20 set-up probe fits, no window does
    with pytest.raises(TileTooSmallError, match="out of memory"):
        Upscaler(fake, tile=32, min_tile=8, backend="torch").upscale_array(_rgb(40, 40))


def test_other_errors_are_not_swallowed(tiny):
    fake = OOMAbove(tiny, limit=100, exc=ValueError)
    with pytest.raises(ValueError):
        Upscaler(fake, tile=32, context=2, backend="torch").upscale_array(_rgb(40, 40))


def test_auto_tile_from_memory_budget(tiny, monkeypatch):
    img = _rgb(48, 40)
    up = Upscaler(tiny)
    assert up.tile_for(48, 40) == 0  # fits: whole image
    per_px = up.info.bytes_per_pixel
    monkeypatch.setattr(memory, "memory_budget", lambda device: int(per_px * 40 * 40))
    monkeypatch.setattr("trainer.inference.engine.memory_budget", lambda device: int(per_px * 40 * 40))
    tile = up.tile_for(48, 40)
    assert 0 < tile <= 40 - 2 * up.context or tile == up.min_tile
    events = list(up.run(ImageData(pixels=img)))
    assert events[0].tile_size == tile and events[0].total > 1
    assert _maxdiff(events[-1].image.pixels, Upscaler(tiny, tile=0).upscale_array(img)) <= 1


def test_available_ram_reads_meminfo():
    assert memory.available_ram() > 16 << 20


# ---------------------------------------------------------------- model handling
def test_user_model_untouched_and_rewrites_exact():
    model = _tiny(seed=2).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = prepare_for_inference(model, device=torch.device("cpu"))
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())  # folded
    assert not any(isinstance(m, nn.Conv2d) and m.out_channels == 3 for m in fast.modules())  # sub-pixel tail
    assert any(isinstance(m, FusedConv) for m in fast.modules())  # conv + PReLU / residual fused
    x = torch.rand(1, 3, 17, 23)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model.eval()(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("k,r", [(9, 2), (3, 2), (5, 3), (1, 2)])
def test_subpixel_conv_is_the_same_linear_map(k, r):
    torch.manual_seed(k * r)
    conv = nn.Conv2d(6, 3, k, padding=k // 2)
    x = torch.randn(1, 6, 4 * r, 5 * r)
    with torch.no_grad():
        torch.testing.assert_close(subpixel_conv(conv, r)(F.pixel_unshuffle(x, r)), conv(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch,hp", [("wdrn", {"num_blocks": 2, "channels": 8}), ("srcnn", {"channels": 8, "mid_channels": 4}), ("vdsr", {"depth": 3, "channels": 8})])
def test_other_architectures_tile_exactly(arch, hp):
    torch.manual_seed(0)
    model = build(arch, **hp).eval()
    info = survey(model)
    assert info.scale == 4 and info.receptive_radius > 1
    img = _rgb(26, 30)
    whole = Upscaler(model, tile=0).upscale_array(img)
    assert _maxdiff(Upscaler(model, tile=12).upscale_array(img), whole) <= 1


def test_precision_falls_back_to_fp32_when_unsupported(tiny):
    class Fp32Only(nn.Module):
        scale = 4

        def forward(self, x):
            if x.dtype != torch.float32:
                raise RuntimeError("'slow_conv2d_cpu' not implemented for 'Half'")
            return F.interpolate(x, scale_factor=4, mode="nearest")

    assert Upscaler(Fp32Only(), precision="fp16").precision == "fp32"
    assert Upscaler(tiny, precision="fp32").precision == "fp32"


def test_model_from_file(tmp_path, tiny):
    modelfile = pytest.importorskip("trainer.modelfile")
    from trainer.models import describe

    loaded = describe(tiny, "srresnet", {"channels": 8, "num_blocks": 2, "bicubic_skip": True})
    path = modelfile.save_model(loaded, tmp_path / "tiny.safetensors")
    img = _rgb(16, 16)
    from_file = Upscaler(path, tile=0)
    assert from_file.loaded.source == path and from_file.loaded.arch == "srresnet" and from_file.scale == 4
    assert Upscaler(loaded, tile=0).loaded is loaded and Upscaler(tiny, tile=0).loaded is None
    assert _maxdiff(from_file.upscale_array(img), Upscaler(loaded, tile=0).upscale_array(img)) <= 1


def test_cpu_upscaler_pins_glibcs_mmap_threshold():
    # Run in a fresh interpreter: the setting is process-wide and applied once.
    import subprocess
    import sys

    code = (
        "import platform, torch\n"
        "from trainer import models\n"
        "from trainer.inference import Upscaler, memory\n"
        "assert memory._heap_bounded == []\n"
        "Upscaler(models.build('srresnet', num_blocks=1, channels=8), device='cpu')\n"
        "glibc = platform.libc_ver()[0] == 'glibc'\n"
        "assert memory._heap_bounded == [glibc], memory._heap_bounded\n"
        "assert memory.bound_cpu_heap() is glibc\n"
        "print('ok', glibc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")
