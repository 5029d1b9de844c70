"""The OpenVINO CPU backend of the engine: only the network's forward changes.

:func:`start` converts the engine's prepared network (the ONNX graph of :mod:`trainer.export`,
with BatchNorm folded, the sub-pixel tail and PReLU as LeakyRelu) into an OpenVINO model, compiles
it for the CPU and checks it against PyTorch on a probe image, or reads the checked model from the
on-disk cache (:mod:`trainer.inference.openvino_cache`); the :class:`~trainer.inference.Upscaler`
keeps tiling, alpha, progress events and cancel. Measured on the shipped ``srgan_x4`` (2-vCPU EPYC,
see README "CPU backend"): 1.08x the PyTorch forward, 1.20x end to end with the cache filled.

Choices (measured on this CPU):

* one compile per model with dynamic batch/height/width: compiling takes ~0.1 s and a dynamic
  model ran a 208x208 tile as fast as one compiled for that shape (which took 0.5 s to compile),
  so mixed image sizes cost no recompiles;
* ``INFERENCE_PRECISION_HINT=f32``: OpenVINO would pick bf16 on CPUs that have it, which is not
  the fp32 result the self-check and the readouts promise; threads = ``torch.get_num_threads()``;
* cancel: each forward is an asynchronous request waited for in short slices; a set cancel event
  calls ``InferRequest.cancel()`` (measured: the request stopped 13 ms later in a 3 s forward), so
  tiles need not be small. Between slices the share of the forward done is reported from the
  measured time per pixel, so the progress bar still moves inside a one-tile image.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from trainer.inference.cancel import report_forward
from trainer.inference.events import UpscaleCancelled
from trainer.inference.optimize import ModelInfo, survey

log = logging.getLogger(__name__)

# Slice of a wait between cancel checks (ms): the cancel latency, at no measurable cost.
_WAIT_MS = 50
# Self-check: uint8 levels the OpenVINO output may differ from PyTorch's on the probe.
MAX_LEVELS = 1
# Odd and unlike the export's trace size (32x32): a graph with a size frozen in by the tracer (a
# pad to a window multiple, say) fails here instead of on a user's tile.
_PROBE_SIZE = (29, 37)


class OpenVinoForward:
    """A network compiled by OpenVINO for the CPU: ``forward(x, cancel)`` on N x C x H x W float32.

    Thread-safe: a forward borrows an idle infer request from a pool (a cached engine may serve two
    jobs at once). Not a ``threading.local``: a request stored there would be destroyed while
    Python deletes the thread's state at the end of a ``QThread``, which crashed the app.
    """

    def __init__(self, source: bytes | Path, *, threads: int | None = None, cache_dir: str | None = None) -> None:
        """``source``: ONNX bytes (converted in memory, no temporary file) or the path of a cached
        OpenVINO IR file; ``cache_dir``: OpenVINO's ``CACHE_DIR`` for the compiled blob."""
        import openvino as ov

        self._core = ov.Core()
        if cache_dir:
            self._core.set_property({"CACHE_DIR": cache_dir})
        #: the OpenVINO model (kept for the on-disk cache); None when read from a cached file
        self.model = self._core.read_model(source) if isinstance(source, bytes) else None
        config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
            "PERFORMANCE_HINT": "LATENCY",
        }
        # From a file path OpenVINO finds its compiled blob by the file, without hashing the graph.
        self.compiled = self._core.compile_model(self.model if self.model is not None else str(source), "CPU", config)
        self._idle: list = []  # infer requests not in use
        self._lock = threading.Lock()
        self._seconds_per_px: float | None = None  # measured; for progress inside a forward

    def _take(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.compiled.create_infer_request()

    def _give_back(self, request) -> None:
        with self._lock:
            self._idle.append(request)

    def forward(self, x: np.ndarray, cancel: threading.Event | None = None) -> np.ndarray:
        """Run the network on ``x`` (float32 NCHW); returns a new float32 array.

        Raises :class:`UpscaleCancelled` within ~50 ms of ``cancel`` being set.
        """
        request = self._take()
        try:
            return self._run(request, x, cancel)
        finally:
            self._give_back(request)

    def _run(self, request, x: np.ndarray, cancel: threading.Event | None) -> np.ndarray:
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        expected = None if self._seconds_per_px is None else self._seconds_per_px * pixels
        t0 = time.perf_counter()
        request.start_async({0: np.ascontiguousarray(x, dtype=np.float32)})
        while not request.wait_for(_WAIT_MS):
            if cancel is not None and cancel.is_set():
                request.cancel()
                try:
                    request.wait()
                except RuntimeError:  # "Infer Request was canceled": the expected outcome
                    pass
                raise UpscaleCancelled("upscale cancelled")
            if expected:
                report_forward(min(0.99, (time.perf_counter() - t0) / expected))
        seconds = time.perf_counter() - t0
        per_px = seconds / max(1, pixels)
        self._seconds_per_px = per_px if self._seconds_per_px is None else 0.5 * (self._seconds_per_px + per_px)
        report_forward(1.0)
        return np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)


def self_check(backend: OpenVinoForward, reference: nn.Module, in_channels: int = 3, seed: int = 0) -> str | None:
    """Compare ``backend`` with the PyTorch ``reference`` on a probe image; None if it agrees,
    else the reason (more than :data:`MAX_LEVELS` uint8 levels apart, or non-finite values)."""
    rng = np.random.default_rng(seed)
    probe = rng.integers(0, 256, (1, in_channels, *_PROBE_SIZE)).astype(np.float32) / 255.0
    with torch.inference_mode():
        ref = reference(torch.from_numpy(probe)).float().numpy()
    try:
        out = backend.forward(probe)
    except RuntimeError as exc:
        h, w = _PROBE_SIZE
        return (f"the converted network does not run on a {w}x{h} image (its code depends on the input size, "
                f"e.g. padding to a window multiple): {_reason(exc)[:160]}")
    if out.shape != ref.shape:
        return f"output shape {tuple(out.shape)} differs from PyTorch's {tuple(ref.shape)}"
    if not np.isfinite(out).all():
        return "non-finite values (NaN or infinity) on the self-check image"

    def levels(a: np.ndarray) -> np.ndarray:
        return np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.int16)

    diff = int(np.abs(levels(out) - levels(ref)).max())
    if diff > MAX_LEVELS:
        return f"output differs from PyTorch by {diff} levels of 255 on the self-check image (limit {MAX_LEVELS})"
    return None


def _reason(exc: BaseException) -> str:
    """OpenVINO's message on one line, without its "Exception from src/...cpp:N:" source locations."""
    text = re.sub(r"(Exception from \S+:\d+:|Caught exception:)\s*", "", " ".join(str(exc).split()))
    return text.strip() or type(exc).__name__


@dataclass
class Started:
    """What :func:`start` built.

    Attributes:
        forward: the checked OpenVINO forward, or None (then PyTorch runs).
        problem: why ``forward`` is None ("" when it is set).
        info: what the engine knows about the network (from the cache, or measured on ``reference``).
        reference: the prepared PyTorch network when it was built (a cache miss), else None: the
            engine prepares it only if it ever has to fall back.
        cached: whether the checked model came from the on-disk cache.
    """

    forward: OpenVinoForward | None
    problem: str
    info: ModelInfo | None
    reference: nn.Module | None
    cached: bool = False


def start(module: nn.Module, prepare: Callable[[], nn.Module], in_channels: int = 3) -> Started:
    """The checked OpenVINO forward of ``module``, from the on-disk cache
    (:mod:`trainer.inference.openvino_cache`) or built: ``prepare()`` gives the exportable prepared
    network, which is converted, compiled, checked against itself in PyTorch and, when it passes,
    cached. When it cannot be converted, compiled or does not match, ``forward`` is None and
    ``problem`` says why (also logged: the engine falls back to PyTorch and reports it).
    """
    from trainer.export import ExportError, to_onnx
    from trainer.inference import openvino_cache

    try:
        import openvino as ov
    except ImportError as exc:
        return _refused(f"openvino is not installed ({exc})", None)
    try:
        key = openvino_cache.model_key(module, in_channels, ov.__version__)
    except Exception as exc:  # noqa: BLE001 - a tensor the key cannot read (quantised, sparse): no cache
        log.info("OpenVINO model not cached: %s", exc)
        key = None
    blobs = openvino_cache.blob_dir()
    hit = openvino_cache.lookup(key) if key is not None else None
    if hit is not None:
        xml, info = hit
        try:
            return Started(OpenVinoForward(xml, cache_dir=blobs), "", info, None, cached=True)
        except Exception as exc:  # noqa: BLE001 - a broken entry is rebuilt below, never fatal
            log.warning("OpenVINO cache entry %s failed to load (%s); rebuilding it", xml.parent, _reason(exc)[:200])
            openvino_cache.forget(key)
    reference = prepare()
    info = survey(reference, in_channels)
    try:
        backend = OpenVinoForward(to_onnx(reference, in_channels=in_channels), cache_dir=blobs)
        problem = self_check(backend, reference, in_channels)
    except ExportError as exc:
        problem = str(exc)
    except Exception as exc:  # noqa: BLE001 - any conversion/compile failure means: run in PyTorch
        problem = _reason(exc)[:300]
    if problem is not None:
        return _refused(problem, reference, info)
    if key is not None:
        openvino_cache.store(key, backend.model, info)
    return Started(backend, "", info, reference)


def _refused(problem: str, reference: nn.Module | None, info: ModelInfo | None = None) -> Started:
    log.warning("OpenVINO backend not used, running in PyTorch: %s", problem)
    return Started(None, problem, info, reference)
