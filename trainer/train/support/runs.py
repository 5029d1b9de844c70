"""The list of training runs on this computer: status, progress, models; deleting a run (no Qt).

A run is a folder under the runs folder (``user_data_dir()/runs``) with a ``config.toml``. Its
status comes from the end of its ``metrics.jsonl`` log (only the tail is read, a long run's log is
large) and its ``checkpoints/`` folder:

* ``finished``: the log ends with a completed ``Finished``;
* ``stopped``: ended on request (resumable);
* ``time_limit``: a phase's time limit ended it before its last step (the log's ``Finished`` comes
  before ``total_steps`` without a stop request); not resumable as it is, since the trainer does not
  extend a timed-out phase (raise the limit in a new run instead);
* ``failed``: the log ends with an ``Error``;
* ``interrupted``: no terminal record (the app or computer stopped mid-run);
* ``running``: one of the ``active`` folders the caller is training right now;
* ``new``: nothing logged yet.

Nothing here imports torch, so listing is cheap; the checkpoint file pattern is the trainer's
(``trainer.train.checkpoint``: ``checkpoints/step_<n>.pt``).
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trainer.train.layout import CHECKPOINT_DIR, CONFIG_FILE, METRICS_FILE  # the trainer's names, no torch
from trainer.train.layout import STEP_RE as _STEP_RE

#: How each status reads in the app's runs list and in ``srgan-train --list-runs``.
STATUS_TEXT = {"finished": "finished", "time_limit": "ended by time limit", "stopped": "stopped · resumable",
               "interrupted": "interrupted · resumable", "failed": "failed", "running": "training…",
               "new": "not started"}

TAIL_BYTES = 256 * 1024


@dataclass(frozen=True)
class RunInfo:
    """One run folder as the runs list shows it."""

    path: Path
    status: str
    recipe: str = ""
    step: int = 0
    total_steps: int = 0
    checkpoint_step: int | None = None
    best_psnr: float | None = None
    models: tuple[Path, ...] = ()
    message: str = ""
    updated: float = 0.0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def resumable(self) -> bool:
        """Not finished, not running, and a checkpoint to continue from."""
        return self.status in ("stopped", "interrupted", "failed") and self.checkpoint_step is not None

    @property
    def final_model(self) -> Path | None:
        """The newest exported model file (the last phase's when the run finished)."""
        return max(self.models, key=lambda p: p.stat().st_mtime, default=None) if self.models else None


def default_runs_root() -> Path:
    """``user_data_dir()/runs``."""
    from trainer.paths import user_data_dir

    return user_data_dir() / "runs"


def tail_records(path: Path, max_bytes: int = TAIL_BYTES) -> list[dict]:
    """The JSON records in the last ``max_bytes`` of a JSONL file (a torn first or last line is skipped)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return []
    lines = data.split(b"\n")
    if size > max_bytes:
        lines = lines[1:]  # probably cut in the middle
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return records


def checkpoint_steps(run_dir: Path) -> list[int]:
    """Steps of the run's periodic checkpoints, oldest first."""
    folder = run_dir / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _STEP_RE.match(p.name)))


def _total_steps(run_dir: Path) -> tuple[str, int]:
    try:
        data = tomllib.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        return str(data.get("recipe", "")), sum(int(p.get("iterations", 0)) for p in data.get("phases", []))
    except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError):
        return "", 0


def read_run(run_dir: str | os.PathLike, *, active: bool = False) -> RunInfo:
    """The :class:`RunInfo` of one run folder."""
    path = Path(run_dir)
    recipe, total = _total_steps(path)
    records = tail_records(path / METRICS_FILE)
    ckpts = checkpoint_steps(path)
    step, best, message, status = 0, None, "", "new"
    for rec in records:
        kind = rec.get("event")
        if "step" in rec and isinstance(rec["step"], int) and kind != "Error":
            step = rec["step"]
        if kind == "Validation":
            best = rec.get("best_psnr", best)
        elif kind == "RunStarted":
            total, status, message = rec.get("total_steps", total), "interrupted", ""
        elif kind == "Finished":
            if rec.get("stopped"):
                status = "stopped"
            else:  # same rule as run_state: ended early without a stop request = a time limit
                done, planned = rec.get("step"), rec.get("total_steps", total)
                early = isinstance(done, int) and isinstance(planned, int) and done < planned
                status = "time_limit" if early else "finished"
            best = rec.get("best_psnr", best)
        elif kind == "Error":
            status, message = "failed", str(rec.get("message", ""))
        elif kind in ("TrainStep", "CheckpointSaved") and status == "new":
            status = "interrupted"  # the tail may start after RunStarted
    if status == "new" and ckpts:
        status = "interrupted"
    if active:
        status = "running"
    models = tuple(sorted(p for p in path.glob("*.safetensors") if not p.name.startswith(".")))
    try:
        updated = max((path / f).stat().st_mtime for f in (METRICS_FILE, CONFIG_FILE) if (path / f).exists())
    except ValueError:
        updated = 0.0
    return RunInfo(path, status, recipe, step, total, ckpts[-1] if ckpts else None,
                   best if isinstance(best, (int, float)) else None, models, message, updated)


def list_runs(root: str | os.PathLike | None = None, *, active: Iterable[str | os.PathLike] = ()) -> list[RunInfo]:
    """Every run under ``root`` (default: the user's runs folder), newest first."""
    folder = Path(root) if root is not None else default_runs_root()
    if not folder.is_dir():
        return []
    live = {Path(p).resolve() for p in active}
    runs = [read_run(p, active=p.resolve() in live) for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / CONFIG_FILE).is_file()]
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def delete_run(run_dir: str | os.PathLike) -> None:
    """Delete a run folder (refuses a folder that is not a run: no ``config.toml``).

    Links in the folder (the hold-out split of runs made before ``data.holdout``) are removed,
    never the images they point to.
    """
    path = Path(run_dir)
    if not (path / CONFIG_FILE).is_file():
        raise ValueError(f"{path}: not a training run folder (no {CONFIG_FILE}); not deleted")
    shutil.rmtree(path)  # rmtree unlinks symlinks, it does not follow them
