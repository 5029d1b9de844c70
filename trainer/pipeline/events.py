"""Per-file events of the upscale pipeline (frozen dataclasses: they cross threads as they are).

For every planned file the pipeline yields :class:`FileStarted`, any number of
:class:`FileProgress`, then exactly one :class:`FileDone` (unless the run is cancelled, which raises
``trainer.inference.UpscaleCancelled`` instead). ``srgan-upscale`` prints them; the desktop app
turns them into queue-row updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["written", "skipped", "failed"]
Stage = Literal["loading model", "reading", "upscaling", "saving"]


@dataclass(frozen=True)
class FileStarted:
    """File ``index`` of ``total`` (1-based) starts; ``output`` is its planned path, ``model`` the
    short name of the model chosen for it."""

    index: int
    total: int
    source: Path
    output: Path | None
    model: str


@dataclass(frozen=True)
class FileProgress:
    """The current file entered ``stage``; while upscaling, ``done`` of ``total`` tiles are finished."""

    source: Path
    stage: Stage
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class FileDone:
    """What happened to one file.

    ``status``: ``written`` (``output`` is the new file), ``skipped`` (``output`` is the existing
    file that was kept; only with the ``skip`` rule) or ``failed`` (``output`` is None; nothing was
    written). ``reason`` says why for skipped and failed files (without the source path, which is
    ``source``); ``model`` is the short name of the model used (or that would have been used).
    """

    source: Path
    status: Status
    output: Path | None
    reason: str
    model: str
    seconds: float = 0.0


PipelineEvent = FileStarted | FileProgress | FileDone
