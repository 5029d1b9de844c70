"""On-disk cache of checked OpenVINO models: the set-up cost is paid once per model and machine.

Building the OpenVINO backend costs ~0.7 s more than the PyTorch engine's set-up on a 2-vCPU CPU
(measured: ONNX export 0.36 s, engine preparation 0.25 s, compile 0.1-0.2 s, self-check 0.15 s),
which a folder of small images never wins back. After the first use, the converted model (OpenVINO
IR, fp32), what the engine measured about the network (:class:`ModelInfo`) and the passed
self-check are kept under :func:`trainer.paths.user_cache_dir` ``/openvino``; OpenVINO's own
``CACHE_DIR`` keeps the compiled blob next to it. A later run reads them instead of exporting,
compiling and checking again.

An entry is found only by a key over everything that decides the converted graph and its numbers:
the network's class, ``repr`` and every tensor of its state dict (bytes), the input channels, the
OpenVINO and PyTorch versions, the source of the conversion code (this package's rewrites and
exporter) and the CPU. Any change is a different key, so a stale entry is never used; an entry that
cannot be read is deleted and rebuilt. Entries are written atomically (a folder renamed into
place) and only after the self-check passed, so a failed check is re-tried on the next run.
``SRGAN_CACHE_DIR=off`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from trainer.inference.optimize import ModelInfo

log = logging.getLogger(__name__)

_FORMAT = 1  # bump when the entry's layout changes
_MODEL_XML = "model.xml"
_INFO_JSON = "info.json"
# The code that turns a network into the graph OpenVINO runs: a change to any of them changes the key.
_SOURCES = ("inference/optimize.py", "inference/fusion.py", "inference/openvino_backend.py", "export/onnx_export.py")


def cache_root() -> Path | None:
    """The folder of cached OpenVINO models, or None when ``SRGAN_CACHE_DIR`` is ``off``."""
    from trainer.paths import user_cache_dir

    folder = user_cache_dir()
    return None if folder is None else folder / "openvino"


def _cpu_name() -> str:
    """The CPU's model and instruction-set flags (a VM may hide AVX-512 from one model name)."""
    found: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags") and key not in found:
                    found[key] = line.strip()
                if len(found) == 2:
                    break
    except OSError:
        pass
    return " | ".join(found.values()) or platform.processor()


def model_key(module: nn.Module, in_channels: int, openvino_version: str) -> str:
    """Hex digest identifying the checked OpenVINO form of ``module`` on this machine."""
    h = hashlib.sha256()

    def add(text: str) -> None:
        h.update(text.encode())
        h.update(b"\0")

    add(f"format {_FORMAT}; openvino {openvino_version}; torch {torch.__version__}; channels {in_channels}")
    add(f"{platform.machine()} {_cpu_name()}")
    package = Path(__file__).resolve().parent.parent
    for rel in _SOURCES:
        h.update((package / rel).read_bytes())
    add(f"{type(module).__module__}.{type(module).__qualname__}")
    add(repr(module))
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        add(f"{name} {t.dtype} {tuple(t.shape)}")
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:32]


def lookup(key: str) -> tuple[Path, ModelInfo] | None:
    """The cached model file and engine facts for ``key``, or None (a broken entry is deleted)."""
    root = cache_root()
    if root is None:
        return None
    entry = root / key
    if not entry.is_dir():
        return None
    try:
        info = ModelInfo(**json.loads((entry / _INFO_JSON).read_text(encoding="utf-8"))["info"])
        xml = entry / _MODEL_XML
        if not xml.is_file() or not xml.with_suffix(".bin").is_file():
            raise FileNotFoundError(xml)
        return xml, info
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("OpenVINO cache entry %s is unreadable (%s); it is rebuilt", entry, exc)
        forget(key)
        return None


def forget(key: str) -> None:
    """Delete the entry of ``key`` (after it failed to load or to run)."""
    root = cache_root()
    if root is not None:
        shutil.rmtree(root / key, ignore_errors=True)


def store(key: str, ov_model, info: ModelInfo) -> None:
    """Keep the checked ``ov_model`` (an ``openvino.Model``) and ``info`` under ``key``.

    Best effort: a cache that cannot be written (read-only home, full disk) only costs the set-up
    time again, so the reason is logged, not raised.
    """
    root = cache_root()
    if root is None:
        return
    import openvino as ov

    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        ov.save_model(ov_model, str(tmp / _MODEL_XML), compress_to_fp16=False)  # fp32, as checked
        (tmp / _INFO_JSON).write_text(json.dumps({"format": _FORMAT, "info": asdict(info)}), encoding="utf-8")
        try:
            os.rename(tmp, root / key)  # atomic; a concurrent writer's identical entry may win
            tmp = None
        except OSError:
            pass
    except (OSError, RuntimeError) as exc:
        log.warning("OpenVINO cache not written (%s): the next run exports and checks again", exc)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def blob_dir() -> str | None:
    """OpenVINO's ``CACHE_DIR`` for compiled blobs (it keys them itself), or None when off."""
    root = cache_root()
    return None if root is None else str(root / "compiled")
