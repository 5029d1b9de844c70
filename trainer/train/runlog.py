"""Run logs: ``metrics.jsonl`` (one JSON object per event) and TensorBoard scalars when installed."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from trainer.atomic import atomic_write_text
from trainer.train.events import TrainStep, Validation, event_record
from trainer.train.layout import METRICS_FILE


def _clean(value: Any) -> Any:
    """JSON has no inf/nan: write them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class RunLog:
    """Appends events to ``RUN/metrics.jsonl`` (line-buffered, so a killed run keeps its log).

    ``keep_until`` (a resume's checkpoint step): records of later steps, written by the run before
    it was stopped or killed and about to be redone, are dropped first (the file is rewritten
    atomically), so every step appears once.
    """

    def __init__(self, run_dir: str | os.PathLike, *, tensorboard: bool = True, keep_until: int | None = None) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        if keep_until is not None and self.path.is_file():
            _truncate_after(self.path, keep_until)
        self._fh = open(self.path, "a", encoding="utf-8", buffering=1)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter  # needs the optional tensorboard package

                self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
            except Exception:  # not installed: the JSONL log is the record
                self._tb = None

    def write(self, event: Any) -> None:
        """Record one event."""
        self._fh.write(json.dumps(_clean(event_record(event))) + "\n")
        if self._tb is None:
            return
        if isinstance(event, TrainStep):
            for name, value in event.losses.items():
                self._tb.add_scalar(f"loss/{name}", value, event.step)
            self._tb.add_scalar("lr/generator", event.lr, event.step)
            self._tb.add_scalar("speed/steps_per_second", event.steps_per_second, event.step)
        elif isinstance(event, Validation):
            self._tb.add_scalar(f"val/{event.dataset}_psnr", event.psnr, event.step)
            self._tb.add_scalar(f"val/{event.dataset}_ssim", event.ssim, event.step)

    def close(self) -> None:
        """Flush and close."""
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def _truncate_after(path: Path, step: int) -> None:
    """Rewrite ``path`` without the records of steps after ``step`` (and without a torn last line)."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record.get("step"), int) or record["step"] <= step:
            kept.append(line)
    atomic_write_text(path, "".join(k + "\n" for k in kept))


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All records of ``RUN/metrics.jsonl`` (a torn last line from a killed run is ignored)."""
    path = Path(run_dir) / METRICS_FILE
    records = []
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
