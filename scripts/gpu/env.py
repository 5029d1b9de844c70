"""The environment the figures were measured in: GPU, driver, torch, CUDA, cuDNN, CPU, source tree."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch


def _nvidia_smi() -> str:
    """Driver version and clocks as nvidia-smi reports them ('' where it is missing)."""
    try:
        res = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
        return res.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def describe(device: torch.device, repo: Path, data: Path) -> dict[str, Any]:
    """One dict with everything that decides what the figures mean."""
    info: dict[str, Any] = {
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_build": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update({
            "gpu": props.name,
            "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "capability": f"{props.major}.{props.minor}",
            "multiprocessors": props.multi_processor_count,
            "bf16": torch.cuda.is_bf16_supported(),
            "nvidia_smi": _nvidia_smi(),
        })
    manifest = data / "MANIFEST.json"
    if manifest.is_file():  # written by gpu_bundle.sh: which commit and files travelled
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
            info["source"] = {k: m.get(k) for k in ("commit", "dirty", "created", "train_images", "bundle_bytes")}
        except (OSError, json.JSONDecodeError):
            info["source"] = "unreadable MANIFEST.json"
    return info
