"""Model export to other runtimes (Qt-free): ONNX with the engine's inference rewrites.

``export_onnx(model)`` returns the checked ONNX bytes (``size=(H, W)``: a fixed-size graph, for
networks whose code depends on the input size, with the size in its metadata); ``srgan-export``
(:mod:`trainer.cli.export`) writes them to a file atomically. The same (dynamic) graph feeds the
OpenVINO backend of the engine (:mod:`trainer.inference.openvino_backend`).
"""

from trainer.export.onnx_export import (
    DEFAULT_OPSET,
    META_INPUT_HEIGHT,
    META_INPUT_WIDTH,
    META_SCALE,
    MIN_OPSET,
    TOLERANCE,
    ExportError,
    ExportResult,
    export_onnx,
    exportable_module,
    to_onnx,
    verify,
)

__all__ = [
    "DEFAULT_OPSET",
    "META_INPUT_HEIGHT",
    "META_INPUT_WIDTH",
    "META_SCALE",
    "MIN_OPSET",
    "TOLERANCE",
    "ExportError",
    "ExportResult",
    "export_onnx",
    "exportable_module",
    "to_onnx",
    "verify",
]
