"""Atomic checkpoints: write, list, prune, load (falling back past unreadable files), RNG states.

A checkpoint is one ``torch.save`` dict of tensors and plain Python values (so it loads with
``torch.load(weights_only=True)``): generator, EMA, discriminator, optimisers, GradScalers, step,
phase, data position, every RNG state and the config. Files live in ``RUN/checkpoints`` as
``step_000001234.pt`` (the last ``keep_last`` are kept) plus ``best.pt`` (best validation PSNR).

Writes go through :mod:`trainer.atomic` (a hidden temporary file in the same folder, fsync'ed,
then renamed over the target), so a process killed at any moment (even SIGKILL mid-write) leaves the previous checkpoint
intact; leftover temporary files are ignored and cleaned up on the next save.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.atomic import atomic_write_bytes, remove_leftovers
from trainer.errors import FileError, torch_load_reason
from trainer.train.layout import BEST_NAME, CHECKPOINT_DIR, checkpoint_name
from trainer.train.layout import STEP_RE as _STEP_RE


class CheckpointError(FileError):
    """No usable checkpoint, or one that does not fit this run; ``path`` and ``reason`` say which file and why."""


def capture_rng() -> dict[str, Any]:
    """Python, NumPy, torch CPU and CUDA RNG states as tensors and plain values."""
    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
    }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npv = state["numpy"]
    np.random.set_state((npv[0], npv[1].numpy().astype(np.uint32), npv[2], npv[3], npv[4]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    """``RUN/checkpoints``."""
    return Path(run_dir) / CHECKPOINT_DIR


def list_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of the periodic checkpoints, oldest first (temporary files excluded)."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _STEP_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def save_checkpoint(
    run_dir: str | os.PathLike, state: dict[str, Any], step: int, *, keep_last: int = 3, best: bool = False
) -> Path:
    """Write ``state`` as ``step_<step>.pt`` (and ``best.pt`` when ``best``); keep the last ``keep_last``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    folder = checkpoint_dir(run_dir)
    path = atomic_write_bytes(folder / checkpoint_name(step), data)
    if best:
        atomic_write_bytes(folder / BEST_NAME, data)
    for _, old in list_checkpoints(run_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    remove_leftovers(folder)  # temporary files of a process killed mid-write
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read one checkpoint (``weights_only``: a file that wants to run code is refused)."""
    p = Path(path)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt, foreign pickle
        raise CheckpointError(p, f"not a readable checkpoint: {torch_load_reason(exc, p)}") from None
    if not isinstance(state, dict) or "step" not in state or "generator" not in state:
        raise CheckpointError(p, "not a training checkpoint of this program")
    return state


def load_latest(run_dir: str | os.PathLike) -> tuple[Path, dict[str, Any], list[str]]:
    """The newest readable checkpoint of a run: ``(path, state, problems)``.

    Unreadable newer files are skipped (their problems are returned for a warning), so a damaged
    last file costs one interval, not the run. Raises :class:`CheckpointError` when none is usable.
    """
    problems: list[str] = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path), problems
        except CheckpointError as exc:
            problems.append(str(exc))
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise CheckpointError(checkpoint_dir(run_dir), f"no usable checkpoint to resume from{detail}")
