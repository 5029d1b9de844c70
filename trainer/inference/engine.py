"""The inference engine: :class:`Upscaler` turns an :class:`ImageData` into its upscaled copy.

The image stays on the host as numpy; only tile tensors visit the device. Images that fit the memory
budget run whole; larger ones run in tiles with context padding (so each tile's output does not
depend on where its window ends) and feathered overlaps (so any remaining difference cannot form a
seam). Output rows are finished and quantised as soon as no later tile touches them
(:class:`~trainer.inference.tiling.RowBlender`), so the float buffers never cover the whole output.

Colour handling:

* grey (HxWx1) is replicated to RGB for the model and averaged back to one channel;
* alpha: colour is premultiplied before the model (no halos from the colour hidden under
  transparent pixels), alpha is upscaled *by the model too* (as a grey image, mean of the channels)
  and the colour is unpremultiplied with the final alpha. Running alpha through the same network
  gives it the same edge sharpening as the premultiplied colour; with a softer (bicubic) alpha the
  division would darken or clip colour along every edge. ``alpha="bicubic"`` is there for models that
  misbehave on masks; a constant alpha (fully opaque) is never sent to the model;
* 8-bit stays 8-bit and 16-bit stays 16-bit (decided by the dtype).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from trainer.device import resolve_device, resolve_dtype
from trainer.imageio import ImageData, premultiply, unpremultiply
from trainer.loaded_model import LoadedModel
from trainer.inference.events import (
    NonFiniteOutputError,
    TileDone,
    TilesPlanned,
    TileTooSmallError,
    UpscaleCancelled,
    UpscaleEvent,
    UpscaleFinished,
)
from trainer.inference.backends import resolve_backend
from trainer.inference.cancel import report_forward
from trainer.inference.memory import auto_tile, bound_cpu_heap, is_oom, memory_budget, release_memory
from trainer.inference.optimize import prepare_for_inference, survey
from trainer.inference.tiling import RowBlender, TilePlan, plan_tiles
from trainer.tensor import dtype_max, to_tensor

log = logging.getLogger(__name__)

# Context padding is the receptive-field radius, capped: deep generators have a theoretical radius
# of ~40 input pixels (SRResNet B=16) but an effective one far smaller; 24 keeps tiled == whole
# within 1/255 (tested) at ~1.4x less padding work than 40.
MAX_CONTEXT = 24
DEFAULT_OVERLAP = 8
MIN_TILE = 16
# Low-precision results further than this from fp32 on the probe mean the model does not support it.
_HALF_TOLERANCE = 0.02


@dataclass
class _Progress:
    done: int = 0
    total: int = 0


def _load(model: LoadedModel | nn.Module | str | os.PathLike) -> LoadedModel | None:
    """The model as a :class:`LoadedModel` (None for a bare module: nothing is known about it)."""
    if isinstance(model, (LoadedModel, nn.Module)):
        return model if isinstance(model, LoadedModel) else None
    from trainer import zoo  # lazy: the zoo reads folders and model headers

    return zoo.load(model, device="cpu")


def _quantize(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float32 [0, 1] -> integer image, the same clamp/scale/round as ``trainer.tensor.to_numpy``.

    Works in place on ``arr`` (a finished band nobody reads again): no band-sized temporaries.
    """
    np.clip(arr, 0.0, 1.0, out=arr)
    arr *= np.float32(dtype_max(dtype))
    return np.rint(arr, out=arr).astype(dtype)


class Upscaler:
    """Upscale images with a generator, whole or in tiles, on any device (Qt-free).

    Args:
        model: a :class:`~trainer.loaded_model.LoadedModel` (its module is never modified: an
            optimised eval-mode copy is used), a zoo name / model file path (``trainer.zoo.load``),
            or a bare ``nn.Module`` (a network from elsewhere: everything is measured).
        device: ``"auto"`` (``SRGAN_DEVICE``, else CUDA, MPS, CPU), or ``"cpu"``, ``"cuda:1"``...
        precision: ``"auto"`` (fp32 on CPU, fp16 on GPUs), ``"fp32"``, ``"fp16"``, ``"bf16"``;
            falls back to fp32 when the model does not run or gives non-finite values in it.
        tile: input pixels per tile side; None = from free memory, 0 = whole image.
        overlap: input pixels shared by neighbouring tiles and blended (feathered).
        context: extra input pixels each side of a tile that the model sees but whose output is
            dropped; None = the model's receptive-field radius, at most ``MAX_CONTEXT``.
        max_batch: tiles per forward; None = 1 on CPU (no gain measured), more on GPUs when they fit.
        alpha: ``"model"`` or ``"bicubic"`` (see the module docstring).
        min_tile: smallest tile the out-of-memory fallback may reach.
        backend: what runs the network's forward: ``"auto"`` (PyTorch unless ``SRGAN_BACKEND``
            says otherwise; see :mod:`trainer.inference.backends` for why), ``"torch"`` or ``"openvino"``
            (:mod:`trainer.inference.openvino_backend`; checked against PyTorch on first use and
            replaced by PyTorch, with the reason in :attr:`backend_label`, when it does not match).
    """

    def __init__(
        self,
        model: LoadedModel | nn.Module | str | os.PathLike,
        *,
        device: str | torch.device | None = "auto",
        precision: str = "auto",
        tile: int | None = None,
        overlap: int = DEFAULT_OVERLAP,
        context: int | None = None,
        max_batch: int | None = None,
        channels_last: bool | None = None,
        alpha: str = "model",
        min_tile: int = MIN_TILE,
        backend: str = "auto",
    ) -> None:
        if alpha not in ("model", "bicubic"):
            raise ValueError(f"alpha must be 'model' or 'bicubic', got {alpha!r}")
        if tile is not None and tile < 0:
            raise ValueError(f"tile must be >= 0 (0 = whole image), got {tile}")
        #: the model's description (None for a bare module)
        self.loaded: LoadedModel | None = _load(model)
        module = self.loaded.module if self.loaded is not None else model
        self.device = resolve_device(None if device in (None, "auto") else device)
        if self.device.type == "cpu":
            bound_cpu_heap()  # tiles and images of many sizes must not grow the heap for good
        self.channels_last = self.device.type in ("cpu", "cuda") if channels_last is None else channels_last
        #: ``"torch"`` or ``"openvino"``: what runs the forward (after any fallback to PyTorch)
        self.backend = resolve_backend(backend, self.device, precision)
        self.backend_note = ""  # why OpenVINO is not used although asked for ("" when it is, or not asked)
        self._ov = None
        #: whether the checked OpenVINO model came from the on-disk cache (no export, compile, check)
        self.openvino_cached = False
        self._module = module  # for a PyTorch copy prepared late (OpenVINO fallback after a cache hit)
        info = None
        self._fp32: nn.Module | None = None
        if self.backend == "openvino":
            from trainer.inference import openvino_backend  # lazy: OpenVINO loads ~100 MB of libraries

            # The exported form (no oneDNN fusion) is also the self-check's reference and the PyTorch
            # module of a later fallback: the fused copy is built only when PyTorch runs from the start.
            started = openvino_backend.start(module, self._prepare_plain)
            self._ov, self.backend_note, info = started.forward, started.problem, started.info
            self.openvino_cached = started.cached
            if self._ov is None:
                self.backend = "torch"
            else:
                # None after a cache hit: prepared only if OpenVINO ever has to hand over to PyTorch.
                self._fp32, self.channels_last = started.reference, False
        if self._ov is None:
            self._fp32 = prepare_for_inference(module, device=self.device, channels_last=self.channels_last)
            info = None  # the fused network's own survey (its activation estimate differs)
        self.info = info if info is not None else survey(self._fp32)
        self.scale = self.info.scale
        self.dtype = torch.float32 if self._ov is not None else self._pick_dtype(precision)
        self.model = self._fp32 if self.dtype == torch.float32 else _cast(self._fp32, self.dtype)
        self.tile = tile
        self.overlap = max(0, overlap)
        radius = math.ceil(self.info.receptive_radius)
        self.context = min(radius, MAX_CONTEXT) if context is None else max(0, context)
        self.max_batch = max_batch if max_batch is not None else (1 if self.device.type == "cpu" else 8)
        self.alpha_mode = alpha
        self.min_tile = max(1, min_tile)
        self._tile_cap: int | None = None  # lowered after an OOM, remembered for the next images
        # The cancel event of the run in progress, per thread (a cached engine may serve two jobs).
        self._running = threading.local()
        for m in {id(self._fp32): self._fp32, id(self.model): self.model}.values():
            if m is not None:
                _add_cancel_checks(m, self._running)

    def _prepare_plain(self) -> nn.Module:
        """The exportable PyTorch network (no oneDNN fusion, NCHW): OpenVINO's reference and fallback."""
        return prepare_for_inference(self._module, device=self.device, channels_last=False, fuse=False)

    # ------------------------------------------------------------------ set-up
    def _pick_dtype(self, precision: str) -> torch.dtype:
        dtype = resolve_dtype(precision, self.device)
        if dtype == torch.float32:
            return dtype
        probe = torch.rand(1, 3, 24, 24, device=self.device)
        try:
            with torch.inference_mode():
                ref = self._fp32(self._layout(probe))
                low = _cast(self._fp32, dtype)(self._layout(probe.to(dtype))).float()
            ok = bool(torch.isfinite(low).all()) and float((low - ref).abs().max()) < _HALF_TOLERANCE
        except (RuntimeError, TypeError, NotImplementedError):
            ok = False
        return dtype if ok else torch.float32

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    @property
    def precision(self) -> str:
        return {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}[self.dtype]

    @property
    def backend_label(self) -> str:
        """What ran, for a status line: ``"openvino"``, ``"torch"`` or ``"torch (openvino failed: ...)"``."""
        return f"torch (openvino failed: {self.backend_note})" if self.backend_note else self.backend

    def tile_for(self, height: int, width: int) -> int:
        """Tile size this upscaler will start with for an image (0 = whole image)."""
        if self.tile is not None:
            tile = self.tile
        else:
            elem = torch.finfo(self.dtype).bits / 32
            budget = memory_budget(self.device) // max(1, self.max_batch)
            tile = auto_tile(
                height, width, bytes_per_pixel=self.info.bytes_per_pixel * elem, budget=budget,
                context=self.context, min_tile=self.min_tile,
            )
        if self._tile_cap is not None:
            tile = min(tile or max(height, width), self._tile_cap)
        return tile

    # ------------------------------------------------------------------ public API
    def upscale(self, image: ImageData, *, cancel: threading.Event | None = None) -> ImageData:
        """Run to the end and return the upscaled image."""
        for event in self.run(image, cancel=cancel):
            if isinstance(event, UpscaleFinished):
                return event.image
        raise AssertionError("run() ended without UpscaleFinished")  # pragma: no cover

    def upscale_array(self, pixels: np.ndarray) -> np.ndarray:
        """HxW, HxWx1 or HxWx3 uint8/uint16 array -> upscaled array of the same layout and dtype."""
        arr = np.asarray(pixels)
        out = self.upscale(ImageData(pixels=arr)).pixels
        return out[:, :, 0] if arr.ndim == 2 else out

    def run(self, image: ImageData, *, cancel: threading.Event | None = None) -> Iterator[UpscaleEvent]:
        """Upscale ``image``, yielding ``TilesPlanned``, ``TileDone``... and finally ``UpscaleFinished``.

        ``cancel`` is checked between tiles and before each layer of the network's forward: once
        set, :class:`UpscaleCancelled` is raised within one layer, even in a whole-image forward. A
        tile that runs out of memory halves the tile size and restarts the plan (all windows have
        the same size, so this happens on the first tile in practice); no tile is ever skipped. Below ``min_tile`` a :class:`TileTooSmallError` is raised.
        """
        previous = getattr(self._running, "cancel", None)
        self._running.cancel = cancel  # seen by the checks inside the network's forward
        try:
            return (yield from self._run(image, cancel))
        finally:
            self._running.cancel = previous

    def _run(self, image: ImageData, cancel: threading.Event | None) -> Iterator[UpscaleEvent]:
        t0 = time.perf_counter()
        h, w, s = image.height, image.width, self.scale
        out = np.zeros((h * s, w * s, image.pixels.shape[2]), image.pixels.dtype)
        alpha_out = None if image.alpha is None else np.zeros((h * s, w * s), image.alpha.dtype)
        tile, batch = self.tile_for(h, w), self.max_batch
        while True:
            try:
                yield from self._upscale_into(image, out, alpha_out, tile, batch, cancel)
                break
            except Exception as exc:  # noqa: BLE001 - only OOM is handled, everything else re-raised
                if not is_oom(exc):
                    raise
                release_memory(self.device)
                if batch > 1:
                    batch = 1
                    continue
                smaller = (tile or max(h, w)) // 2
                if smaller < self.min_tile:
                    raise TileTooSmallError(
                        f"out of memory on {self.device} even with {tile or max(h, w)}-pixel tiles "
                        f"(minimum {self.min_tile}); free device memory or use --device cpu"
                    ) from exc
                tile = self._tile_cap = smaller
        result = ImageData(
            pixels=out, alpha=alpha_out, mode=image.mode, format=image.format, icc_profile=image.icc_profile,
            exif=image.exif, dpi=image.dpi, source=image.source, palette_transparency=image.palette_transparency,
        )
        yield UpscaleFinished(result, time.perf_counter() - t0, tile, str(self.device), self.precision, self.backend)

    # ------------------------------------------------------------------ passes
    def _upscale_into(
        self, image: ImageData, out: np.ndarray, alpha_out: np.ndarray | None, tile: int, batch: int,
        cancel: threading.Event | None,
    ) -> Iterator[UpscaleEvent]:
        plan = plan_tiles(image.height, image.width, tile, self.overlap, self.context)
        alpha = image.alpha
        constant_alpha = alpha is not None and bool((alpha == alpha.flat[0]).all())
        alpha_by_model = alpha is not None and not constant_alpha and self.alpha_mode == "model"
        progress = _Progress(total=plan.total * (2 if alpha_by_model else 1))
        yield TilesPlanned(progress.total, plan.tile)
        alpha_f: np.ndarray | None = None
        if alpha is not None:
            amax = np.float32(dtype_max(alpha.dtype))
            if constant_alpha:
                alpha_out[:] = alpha.flat[0]
            elif alpha_by_model:
                def alpha_sink(y0: int, y1: int, band: np.ndarray) -> None:
                    alpha_out[y0:y1] = _quantize(band.mean(axis=2), alpha.dtype)

                yield from self._pass(alpha, plan, alpha_sink, progress, batch, cancel)
            else:
                from trainer.imresize import imresize  # MATLAB bicubic, the protocol's resampler

                resized = np.asarray(imresize(alpha.astype(np.float32) / amax, self.scale), dtype=np.float32)
                alpha_out[:] = _quantize(resized, alpha.dtype)
            alpha_f = alpha_out  # unpremultiply with the *final* alpha: displayed colour = premultiplied
            src = premultiply(image.pixels, alpha)
        else:
            src = image.pixels
        grey = image.is_grey
        dtype = image.pixels.dtype

        def colour_sink(y0: int, y1: int, band: np.ndarray) -> None:
            if alpha_f is not None:
                band = unpremultiply(band, alpha_f[y0:y1].astype(np.float32) / amax)
            out[y0:y1] = _quantize(band.mean(axis=2, keepdims=True) if grey else band, dtype)

        yield from self._pass(src, plan, colour_sink, progress, batch, cancel)

    def _pass(
        self, src: np.ndarray, plan: TilePlan, sink: Callable[[int, int, np.ndarray], None],
        progress: _Progress, batch: int, cancel: threading.Event | None,
    ) -> Iterator[TileDone]:
        """Run every tile of ``plan`` over ``src`` (HxW[xC] integer or float [0, 1]) into ``sink``."""
        s = self.scale
        blender = RowBlender(plan, s, 3, sink)
        cols = plan.cols
        for i, row in enumerate(plan.rows):
            blender.start_row(i)
            for j0 in range(0, len(cols), batch):
                js = range(j0, min(j0 + batch, len(cols)))
                _check(cancel)
                y = self._forward([src[row.win_start : row.win_end, cols[j].win_start : cols[j].win_end] for j in js])
                for k, j in enumerate(js):
                    c = cols[j]
                    core = y[k, :, (row.start - row.win_start) * s : (row.end - row.win_start) * s,
                             (c.start - c.win_start) * s : (c.end - c.win_start) * s]
                    # The only float read-back from the device: a (C, h, w) tile, cropped on the device.
                    blender.add(j, core.float().permute(1, 2, 0).cpu().numpy())
                for _ in js:
                    _check(cancel)
                    progress.done += 1
                    yield TileDone(progress.done, progress.total)
            blender.finish_row()

    def _forward(self, windows: list[np.ndarray]) -> torch.Tensor:
        self._running.calls = 0  # counted by the per-layer checks for report_forward
        if self._ov is not None:
            return self._forward_openvino(windows)
        x = torch.cat([to_tensor(win) for win in windows])
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = self._layout(x.to(self.device, self.dtype, non_blocking=True))
        with torch.inference_mode():
            y = self.model(x)
            if self.dtype != torch.float32 and not bool(torch.isfinite(y).all()):
                # fp16 overflowed on this content: this model does not support it, stay in fp32.
                self.dtype, self.model = torch.float32, self._fp32
                y = self.model(self._layout(x.float()))
            if not bool(torch.isfinite(y).all()):
                # NaN would be quantised to black, inf to white: an error for this image, never a result.
                raise NonFiniteOutputError("the model produced non-finite values (NaN or infinity) for this image")
        return y

    def _forward_openvino(self, windows: list[np.ndarray]) -> torch.Tensor:
        """OpenVINO: host arrays in and out, no PyTorch op on the way (idle OpenMP threads would
        compete with OpenVINO's for the cores); cancel is checked while the request runs."""
        x = np.concatenate([to_tensor(win).numpy() for win in windows])
        if x.shape[1] == 1:
            x = np.broadcast_to(x, (x.shape[0], 3, *x.shape[2:]))
        try:
            y = self._ov.forward(x, getattr(self._running, "cancel", None))
        except RuntimeError as exc:
            if is_oom(exc):
                raise
            # A size the self-check did not cover failed: run in PyTorch from now on, and say why.
            self._ov, self.backend = None, "torch"
            self.backend_note = f"on a {x.shape[3]}x{x.shape[2]} input: {' '.join(str(exc).split())[:200]}"
            if self._fp32 is None:  # the engine came from the OpenVINO cache: prepare PyTorch now
                self._fp32 = self.model = self._prepare_plain()
                _add_cancel_checks(self._fp32, self._running)
            log.warning("OpenVINO failed, running in PyTorch from now on: %s", self.backend_note)
            return self._forward(windows)
        if not np.isfinite(y).all():
            # NaN would be quantised to black, inf to white: an error for this image, never a result.
            raise NonFiniteOutputError("the model produced non-finite values (NaN or infinity) for this image")
        return torch.from_numpy(y)


def _cast(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    import copy

    return copy.deepcopy(model).to(dtype)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise UpscaleCancelled("upscale cancelled")


def _add_cancel_checks(model: nn.Module, running: threading.local) -> None:
    """A cancel check before every sub-module's forward (each residual block, each convolution):
    a cancelled run stops within one layer, not at the end of a whole-image forward that can take
    seconds on a CPU. Costs one attribute read and one ``Event.is_set`` per layer."""

    names = [name for name, _ in model.named_modules() if name]  # not the root: the tile loop checks its start
    total = max(1, len(names))  # modules that run per forward (an upper bound: some may be skipped)
    step = max(1, total // 20)

    def check(_module: nn.Module, _inputs: object) -> None:
        cancel = getattr(running, "cancel", None)
        if cancel is not None and cancel.is_set():
            raise UpscaleCancelled("upscale cancelled")
        calls = running.calls = getattr(running, "calls", 0) + 1
        if calls % step == 0:
            report_forward(min(1.0, calls / total))  # a progress bar that moves inside a tile

    for name, module in model.named_modules():
        if name:
            module.register_forward_pre_hook(check)

