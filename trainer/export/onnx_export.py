"""Export a generator to ONNX with the inference engine's rewrites, and check the result.

The graph written is the *prepared* network (:func:`trainer.inference.optimize.prepare_for_inference`
without the CPU oneDNN fusion): BatchNorm folded into the convolutions, the sub-pixel tail rewrite
and single-slope PReLUs as ``LeakyRelu``, so an exported file runs as fast in other runtimes as the
engine does here. Batch, height and width are dynamic, unless a fixed size is asked for (below).

Exporter: PyTorch's TorchScript-based ``torch.onnx.export(..., dynamo=False)``. Measured on this
project's SRResNet B=16 (2-vCPU EPYC): 1.4 s, exact to 5e-7 at other sizes and batches; the dynamo
exporter took 8.4 s for the same graph and first writes opset 18 and converts down. Tracing records
one input size, so code that branches on the size (padding to a window multiple, say) would be
frozen at that size: every export is therefore run with ONNX Runtime at a second, odd size and
batch 2 and compared with the network (:func:`verify`); a graph that does not reproduce it is refused
with the reason instead of being written. When it does reproduce the network at the traced size,
the refusal is marked :attr:`ExportError.size_dependent`.

Fixed-size export (``size=(H, W)``): for networks whose code depends on the input size (SwinIR and
its family: padding to window multiples with Python integers, attention masks computed in Python
from the size), the graph is traced at ``H x W`` with static height and width, checked with ONNX
Runtime at exactly that size, and the size is written into the model's ``metadata_props``
(:data:`META_INPUT_HEIGHT`, :data:`META_INPUT_WIDTH`, :data:`META_SCALE`), so a runtime knows to
feed tiles of that size. The batch stays dynamic when the graph reproduces the network at batch 2;
otherwise (SwinIR's window code computes the batch with ``int()``, so a traced graph silently mixes
the images of a batch) the graph's batch is pinned to 1 and checked again.
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
# metadata_props of a fixed-size export: the input tile size it takes and its output/input ratio.
META_INPUT_HEIGHT, META_INPUT_WIDTH, META_SCALE = "input_height", "input_width", "scale"


class ExportError(Exception):
    """The network cannot be exported (or its export does not reproduce it); one-line reason.

    ``size_dependent`` is True when a dynamic-size export reproduces the network at the traced size
    but not at another one: a fixed-size export (``size=``) of the same network can work.
    """

    def __init__(self, message: str, *, size_dependent: bool = False) -> None:
        super().__init__(message)
        self.size_dependent = size_dependent


@dataclass(frozen=True)
class ExportResult:
    """An exported graph: the ONNX bytes and what was checked.

    Attributes:
        data: the ``.onnx`` file's content.
        opset: ONNX operator set.
        precision: ``"fp32"`` or ``"fp16"`` (weights, input and output).
        scale: output/input size ratio.
        max_diff: ONNX Runtime vs the fp32 network on a random input (None: not verified).
        size: the fixed input (height, width) of a fixed-size export; None when height and width
            are dynamic.
        batch: the fixed batch size (1) of a fixed-size graph that is faithful only one image at a
            time; None when the batch is dynamic.
    """

    data: bytes
    opset: int
    precision: str
    scale: int
    max_diff: float | None
    size: tuple[int, int] | None = None
    batch: int | None = None


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


def to_onnx(
    module: nn.Module, *, opset: int = DEFAULT_OPSET, fp16: bool = False, in_channels: int = 3,
    size: tuple[int, int] | None = None,
) -> bytes:
    """Trace ``module`` (an :func:`exportable_module`) into ONNX bytes with dynamic batch/height/width,
    or, with ``size=(H, W)``, with dynamic batch and a static ``H x W`` input (no metadata added:
    :func:`export_onnx` writes it)."""
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is too old: {MIN_OPSET} or newer is needed")
    net = copy.deepcopy(module).eval()
    dtype = torch.float16 if fp16 else torch.float32
    net = net.to(dtype)
    example = torch.rand(1, in_channels, *(size or _TRACE_SIZE), dtype=dtype)
    if size is None:
        axes = {INPUT: {0: "batch", 2: "height", 3: "width"}, OUTPUT: {0: "batch", 2: "out_height", 3: "out_width"}}
    else:
        axes = {INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():  # the tracer's "converting a tensor to a Python value" noise
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net, (example,), buf, input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
                dynamo=False, do_constant_folding=True, dynamic_axes=axes,
            )
    except Exception as exc:  # noqa: BLE001 - any exporter failure is a refusal with its reason
        raise ExportError(f"the ONNX exporter cannot convert this network: {_one_line(exc)}") from exc
    return buf.getvalue()


def verify(
    data: bytes, module: nn.Module, *, fp16: bool = False, in_channels: int = 3, seed: int = 0,
    size: tuple[int, int] | None = None, batch: int = 2,
) -> float:
    """Run the ONNX graph with ONNX Runtime and return the max abs difference to ``module`` (fp32).

    A dynamic-size graph (``size`` None) is run at another size than the traced one, a fixed-size
    graph at exactly ``size``; both with ``batch`` images. Raises :class:`ExportError` when the graph
    does not run or differs by more than :data:`TOLERANCE` (``size_dependent`` set when a dynamic
    graph still reproduces the network at the traced size).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: a failing run is reported once, in the ExportError
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"ONNX Runtime cannot load the exported graph: {_one_line(exc)}") from exc
    n, (h, w) = batch, size or _CHECK_SIZE[1:]
    x = torch.rand(n, in_channels, h, w, generator=torch.Generator().manual_seed(seed))
    ref = _reference(module, x)
    limit = TOLERANCE["fp16" if fp16 else "fp32"]
    where = f"at the exported size {w}x{h}" if size else f"on a {w}x{h} input"
    cause = "" if size else " (the network's code depends on the input size)"

    def refuse(message: str) -> ExportError:
        # A dynamic graph that fails here but still matches at the traced size has a size frozen
        # into it: a fixed-size export is the remedy (checked on a fresh input, only on failure).
        dependent = size is None and _matches(session, module, in_channels, fp16, seed + 1, limit)
        return ExportError(message, size_dependent=dependent)

    try:
        out = _onnx_output(session, x, fp16)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's reason, cut (it can be many lines long)
        detail = "" if size else " (the network's code depends on the input size, e.g. padding to a window multiple)"
        raise refuse(f"the exported graph does not run {where}{detail}: {_ort_reason(exc)}") from exc
    if out.shape != ref.shape:
        raise refuse(
            f"the exported graph gives a {out.shape[3]}x{out.shape[2]} output {where} where the "
            f"network gives {ref.shape[3]}x{ref.shape[2]}{cause}"
        )
    diff = _max_diff(out, ref)
    if not diff <= limit:
        why = "the network's code likely depends on the input size, or " if size is None else ""
        raise refuse(
            f"the exported graph differs from the network by {diff:.3g} (limit {limit:g}) {where} "
            f"({why}an operation has no faithful ONNX form)"
        )
    return diff


def _reference(module: nn.Module, x: torch.Tensor) -> np.ndarray:
    """The network's output for ``x``, float32."""
    with torch.inference_mode():
        return module(x).float().numpy()


def _onnx_output(session, x: torch.Tensor, fp16: bool) -> np.ndarray:
    """ONNX Runtime's output for ``x`` (fed as fp16 for an fp16 graph), float32."""
    feed = x.numpy().astype(np.float16 if fp16 else np.float32)
    return session.run(None, {INPUT: feed})[0].astype(np.float32)


def _ort_reason(exc: BaseException) -> str:
    """ONNX Runtime's message cut to 160 characters, without a trailing empty "Status Message:"."""
    return _one_line(exc)[:160].rstrip(" :").removesuffix(" Status Message")


def _max_diff(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(out - ref).max()) if np.isfinite(out).all() else float("inf")


def _matches(session, module: nn.Module, in_channels: int, fp16: bool, seed: int, limit: float) -> bool:
    """Whether the graph reproduces the network on a fresh input of the traced size (batch 1)."""
    x = torch.rand(1, in_channels, *_TRACE_SIZE, generator=torch.Generator().manual_seed(seed))
    try:
        out, ref = _onnx_output(session, x, fp16), _reference(module, x)
    except Exception:  # noqa: BLE001 - not even at the traced size: not a size problem
        return False
    return out.shape == ref.shape and _max_diff(out, ref) <= limit


def export_onnx(
    model: LoadedModel | nn.Module, *, opset: int = DEFAULT_OPSET, fp16: bool = False, check: bool = True,
    size: tuple[int, int] | None = None,
) -> ExportResult:
    """Export ``model`` (a loaded generator or a bare module) to ONNX; see the module docstring.

    ``size=(H, W)`` exports a fixed-size graph (static height and width; the batch dynamic where that
    is faithful, else 1; ``check=False`` leaves it dynamic unchecked) with the size in its
    ``metadata_props``; None (the default) a fully dynamic one.
    Raises :class:`ExportError` with a one-line reason for a network that cannot be exported or
    whose export does not reproduce it.
    """
    if isinstance(model, LoadedModel) and model.kind != "generator":
        raise ExportError(f"{model.name} is a {model.kind}, not an upscaling model")
    if fp16 and isinstance(model, LoadedModel) and model.precisions is not None and "fp16" not in model.precisions:
        # e.g. SwinIR: its attention masks are made in fp32 at run time and clash with fp16 weights.
        raise ExportError(f"the network does not run in fp16 (it runs in {', '.join(model.precisions)}): "
                          "export it in fp32")
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if min(size) < 1:
            raise ExportError(f"the fixed size must be at least 1x1, got {size[1]}x{size[0]} (width x height)")
    channels = model.channels if isinstance(model, LoadedModel) else 3
    module = exportable_module(model, channels)
    trace_size = size or _TRACE_SIZE
    with torch.inference_mode():
        probe = torch.rand(1, channels, *trace_size)
        scale = int(module(probe).shape[-1] // trace_size[1])
    data = to_onnx(module, opset=opset, fp16=fp16, in_channels=channels, size=size)
    if size is not None:
        data = _with_size_metadata(data, size, scale)
    diff, batch = None, None
    if check:
        try:
            diff = verify(data, module, fp16=fp16, in_channels=channels, size=size)
        except ExportError:
            if size is None:
                raise
            # Traced at batch 1: the graph is faithful for one image at a time if it matches there.
            data, batch = _with_batch_one(data), 1
            diff = verify(data, module, fp16=fp16, in_channels=channels, size=size, batch=1)
    return ExportResult(data=data, opset=opset, precision="fp16" if fp16 else "fp32", scale=scale,
                        max_diff=diff, size=size, batch=batch)


def _with_batch_one(data: bytes) -> bytes:
    """``data`` with the batch dimension of its input and output fixed at 1."""
    import onnx

    proto = onnx.load_from_string(data)
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = 1  # replaces the "batch" name (a oneof)
    return proto.SerializeToString()


def _with_size_metadata(data: bytes, size: tuple[int, int], scale: int) -> bytes:
    """``data`` with the fixed input size and the scale in the model's ``metadata_props``."""
    import onnx

    proto = onnx.load_from_string(data)
    values = {META_INPUT_HEIGHT: size[0], META_INPUT_WIDTH: size[1], META_SCALE: scale}
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props},
                                        **{k: str(v) for k, v in values.items()}})
    return proto.SerializeToString()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
