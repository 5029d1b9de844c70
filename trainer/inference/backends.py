"""Which backend runs the network's forward: PyTorch or OpenVINO (CPU only).

``auto`` (the default everywhere) is PyTorch. OpenVINO is a choice (``--backend openvino``, the
app's Backend picker, or ``SRGAN_BACKEND=openvino``, which decides what ``auto`` means as
``SRGAN_DEVICE`` does for the device): on the CPU, fp32 only. It is not the default because it did
not earn it here: measured on a quiet 2-vCPU AMD EPYC (benchmarks/bench_backends.py, shipped
srgan_x4, 3 process pairs + 6 warm rounds), a folder of 6 mixed-size images end to end ran 1.00x on a
first launch (engine build 1.0 s vs 0.4 s) and 1.20x once the checked model is in the on-disk cache
(:mod:`trainer.inference.openvino_cache`; build 0.3 s), a warm 256x256 image 1.19-1.29x, with 0.07 GB
*more* peak memory (torch stays loaded); the issue's target is >= 1.25x end to end and lower memory. And a pytest process that had run OpenVINO engines crashed (SIGSEGV) when a
later test forked DataLoader workers; not reproduced outside pytest, not understood, so not a risk
to put under every user's training run.
"""

from __future__ import annotations

import importlib.util
import os

import torch

from trainer.choices import BACKENDS

__all__ = ["BACKENDS", "openvino_available", "resolve_backend"]


def openvino_available() -> bool:
    """Whether the ``openvino`` package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("openvino") is not None
    except (ImportError, ValueError):
        return False


def resolve_backend(backend: str, device: torch.device, precision: str = "auto") -> str:
    """``"torch"`` or ``"openvino"`` for a choice of :data:`BACKENDS` on ``device``.

    An explicit ``openvino`` that cannot apply (a GPU device, fp16/bf16, not installed) is a
    ``ValueError`` saying why, not a silent switch.
    """
    backend = (backend or "auto").lower()
    if backend == "auto":
        backend = (os.environ.get("SRGAN_BACKEND") or "auto").strip().lower()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r} (or SRGAN_BACKEND)")
    low_precision = precision.lower() in ("fp16", "bf16")
    if backend == "auto":
        return "torch"  # see the module docstring: OpenVINO is measured, offered, not the default
    if backend == "openvino":
        if device.type != "cpu":
            raise ValueError(f"the openvino backend runs on the CPU, not {device}; use --device cpu or --backend torch")
        if low_precision:
            raise ValueError(f"the openvino backend runs in fp32 only, not {precision}; use --precision fp32 or --backend torch")
        if not openvino_available():
            raise ValueError("the openvino backend needs the 'openvino' package (pip install openvino)")
    return backend
