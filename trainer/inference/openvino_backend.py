"""The OpenVINO CPU backend of the engine: only the network's forward changes.

:func:`start` converts the engine's prepared network (the ONNX graph of :mod:`trainer.export`,
with BatchNorm folded, the sub-pixel tail and PReLU as LeakyRelu) into an OpenVINO model, compiles
it for the CPU and checks it against PyTorch on a probe image; the :class:`~trainer.inference.Upscaler`
keeps tiling, alpha, progress events and cancel. Measured on the shipped ``srgan_x4`` (2-vCPU EPYC,
see README "CPU backend"): faster than the PyTorch engine and with lower peak memory.

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

import numpy as np
import torch
from torch import nn

from trainer.inference.cancel import report_forward
from trainer.inference.events import UpscaleCancelled

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

    def __init__(self, onnx_bytes: bytes, *, threads: int | None = None) -> None:
        import openvino as ov

        self._core = ov.Core()
        model = self._core.read_model(onnx_bytes)  # the ONNX graph, in memory (no temporary file)
        config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
            "PERFORMANCE_HINT": "LATENCY",
        }
        self.compiled = self._core.compile_model(model, "CPU", config)
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


def start(module: nn.Module, reference: nn.Module, in_channels: int = 3) -> tuple[OpenVinoForward | None, str]:
    """The checked OpenVINO forward of ``module`` (an exportable prepared network), or
    ``(None, reason)`` when it cannot be converted, compiled or does not match ``reference``.

    The reason is also logged: the engine falls back to PyTorch and reports it.
    """
    from trainer.export import ExportError, to_onnx

    try:
        backend = OpenVinoForward(to_onnx(module, in_channels=in_channels))
        problem = self_check(backend, reference, in_channels)
    except ExportError as exc:
        problem = str(exc)
    except ImportError as exc:
        problem = f"openvino is not installed ({exc})"
    except Exception as exc:  # noqa: BLE001 - any conversion/compile failure means: run in PyTorch
        problem = _reason(exc)[:300]
    if problem is not None:
        log.warning("OpenVINO backend not used, running in PyTorch: %s", problem)
        return None, problem
    return backend, ""
