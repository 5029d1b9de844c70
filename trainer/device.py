"""Device and precision selection shared by inference and training.

The device comes from an argument or the ``SRGAN_DEVICE`` environment variable, never from a
hard-coded ``.cuda()``: ``auto`` picks CUDA, then Apple MPS, then the CPU.
"""

from __future__ import annotations

import os

import torch

from trainer.choices import PRECISIONS  # the list lives in a torch-free module (the app imports it)


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """Turn ``"auto"``/``"cpu"``/``"cuda"``/``"cuda:1"``/``"mps"`` (or None = ``SRGAN_DEVICE`` or auto) into a device.

    Asking for a device that is not present is an error that says what is available.
    """
    if isinstance(name, torch.device):
        return name
    name = (name or os.environ.get("SRGAN_DEVICE") or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; available: {', '.join(available_devices())}")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r} requested but Apple MPS is not available; available: {', '.join(available_devices())}")
    return dev


def available_devices() -> list[str]:
    """Names a user can choose from on this machine (``auto`` first)."""
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """Compute dtype for ``precision`` on ``device``: fp32 on the CPU by default, fp16 on GPUs.

    ``bf16`` is honoured where the device supports it; otherwise it falls back to fp32.
    """
    precision = precision.lower()
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return torch.float32
    if precision == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float32
    return torch.bfloat16
