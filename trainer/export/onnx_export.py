"""Export a generator to ONNX with the inference engine's rewrites, and check the result.

The graph written is the *prepared* network (:func:`trainer.inference.optimize.prepare_for_inference`
without the CPU oneDNN fusion): BatchNorm folded into the convolutions, the sub-pixel tail rewrite
and single-slope PReLUs as ``LeakyRelu``, so an exported file runs as fast in other runtimes as the
engine does here. Batch, height and width are dynamic.

Exporter: PyTorch's TorchScript-based ``torch.onnx.export(..., dynamo=False)``. Measured on this
project's SRResNet B=16 (2-vCPU EPYC): 1.4 s, exact to 5e-7 at other sizes and batches; the dynamo
exporter took 8.4 s for the same graph and first writes opset 18 and converts down. Tracing records
one input size, so code that branches on the size (padding to a window multiple, say) would be
frozen at that size: every export is therefore run with ONNX Runtime at a second, odd size and
batch 2 and compared with the network (:func:`verify`); a graph that does not reproduce it is refused
with the reason instead of being written.
"""

from __future__ import annotations

import copy
import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trainer.loaded_model import LoadedModel

DEFAULT_OPSET = 17
MIN_OPSET = 17
INPUT, OUTPUT = "input", "output"
# ONNX Runtime vs the network, max abs difference on [0, 1] images (the acceptance figures).
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}
# Trace size, and the other size the exported graph must reproduce: odd and different in both
# directions, so a size frozen into the graph cannot pass by chance.
_TRACE_SIZE = (32, 32)
_CHECK_SIZE = (2, 27, 37)


class ExportError(Exception):
    """The network cannot be exported (or its export does not reproduce it); one-line reason."""


@dataclass(frozen=True)
class ExportResult:
    """An exported graph: the ONNX bytes and what was checked.

    Attributes:
        data: the ``.onnx`` file's content.
        opset: ONNX operator set.
        precision: ``"fp32"`` or ``"fp16"`` (weights, input and output).
        scale: output/input size ratio.
        max_diff: ONNX Runtime vs the fp32 network on a random input (None: not verified).
    """

    data: bytes
    opset: int
    precision: str
    scale: int
    max_diff: float | None


def exportable_module(model: LoadedModel | nn.Module, in_channels: int | None = None) -> nn.Module:
    """The fp32, CPU, eval-mode network with the engine's rewrites and no private ops.

    ``model``'s own module is never modified (the rewrites work on a copy).
    """
    module = model.module if isinstance(model, LoadedModel) else model
    channels = in_channels or (model.channels if isinstance(model, LoadedModel) else 3)
    from trainer.inference.optimize import prepare_for_inference

    try:
        return prepare_for_inference(module, device=torch.device("cpu"), channels_last=False,
                                     in_channels=channels, fuse=False)
    except Exception as exc:  # noqa: BLE001 - a network that does not even run on a probe
        raise ExportError(f"the network does not run on a {channels}-channel test image: {_one_line(exc)}") from exc


def to_onnx(module: nn.Module, *, opset: int = DEFAULT_OPSET, fp16: bool = False, in_channels: int = 3) -> bytes:
    """Trace ``module`` (an :func:`exportable_module`) into ONNX bytes with dynamic batch/height/width."""
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is too old: {MIN_OPSET} or newer is needed")
    net = copy.deepcopy(module).eval()
    dtype = torch.float16 if fp16 else torch.float32
    net = net.to(dtype)
    example = torch.rand(1, in_channels, *_TRACE_SIZE, dtype=dtype)
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():  # the tracer's "converting a tensor to a Python value" noise
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net, (example,), buf, input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
                dynamo=False, do_constant_folding=True,
                dynamic_axes={INPUT: {0: "batch", 2: "height", 3: "width"},
                              OUTPUT: {0: "batch", 2: "out_height", 3: "out_width"}},
            )
    except Exception as exc:  # noqa: BLE001 - any exporter failure is a refusal with its reason
        raise ExportError(f"the ONNX exporter cannot convert this network: {_one_line(exc)}") from exc
    return buf.getvalue()


def verify(data: bytes, module: nn.Module, *, fp16: bool = False, in_channels: int = 3, seed: int = 0) -> float:
    """Run the ONNX graph with ONNX Runtime at another size and batch; return the max abs difference
    to ``module`` (fp32). Raises :class:`ExportError` when it exceeds :data:`TOLERANCE`."""
    import onnxruntime as ort

    n, h, w = _CHECK_SIZE
    x = torch.rand(n, in_channels, h, w, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        ref = module(x).float().numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: a failing run is reported once, in the ExportError
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"ONNX Runtime cannot load the exported graph: {_one_line(exc)}") from exc
    try:
        feed = x.numpy().astype(np.float16 if fp16 else np.float32)
        out = session.run(None, {INPUT: feed})[0].astype(np.float32)
    except Exception as exc:  # noqa: BLE001 - it ran at the traced size: a size was frozen into the graph
        raise ExportError(
            f"the exported graph does not run on a {w}x{h} input (the network's code depends on the input size, "
            f"e.g. padding to a window multiple): {_one_line(exc)[:160]}"
        ) from exc
    if out.shape != ref.shape:
        raise ExportError(
            f"the exported graph gives a {out.shape[3]}x{out.shape[2]} output for a {w}x{h} input where the "
            f"network gives {ref.shape[3]}x{ref.shape[2]} (the network's code depends on the input size)"
        )
    diff = float(np.abs(out - ref).max()) if np.isfinite(out).all() else float("inf")
    limit = TOLERANCE["fp16" if fp16 else "fp32"]
    if not diff <= limit:
        raise ExportError(
            f"the exported graph differs from the network by {diff:.3g} (limit {limit:g}) on a {w}x{h} input "
            "(the network's code likely depends on the input size, or an operation has no faithful ONNX form)"
        )
    return diff


def export_onnx(
    model: LoadedModel | nn.Module, *, opset: int = DEFAULT_OPSET, fp16: bool = False, check: bool = True,
) -> ExportResult:
    """Export ``model`` (a loaded generator or a bare module) to ONNX; see the module docstring.

    Raises :class:`ExportError` with a one-line reason for a network that cannot be exported or
    whose export does not reproduce it.
    """
    if isinstance(model, LoadedModel) and model.kind != "generator":
        raise ExportError(f"{model.name} is a {model.kind}, not an upscaling model")
    channels = model.channels if isinstance(model, LoadedModel) else 3
    module = exportable_module(model, channels)
    with torch.inference_mode():
        probe = torch.rand(1, channels, *_TRACE_SIZE)
        scale = int(module(probe).shape[-1] // _TRACE_SIZE[1])
    data = to_onnx(module, opset=opset, fp16=fp16, in_channels=channels)
    diff = verify(data, module, fp16=fp16, in_channels=channels) if check else None
    return ExportResult(data=data, opset=opset, precision="fp16" if fp16 else "fp32", scale=scale, max_diff=diff)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
