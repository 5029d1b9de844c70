"""The processing queue as a state object: items, their status and progress, overall progress.

Widgets observe it through its signals; the runner and the drop handlers change it through its
methods. All calls happen in the GUI thread (workers report through queued signals).
"""

from __future__ import annotations

import enum
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal


class Status(enum.Enum):
    WAITING = "Waiting"
    RUNNING = "Running"
    PAUSED = "Paused"
    DONE = "Done"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def finished(self) -> bool:
        return self in (Status.DONE, Status.FAILED, Status.CANCELLED)


@dataclass
class QueueItem:
    """One file in the queue."""

    id: int
    path: Path
    root: Path | None = None  # dropped folder it was found in
    evaluate: bool = False
    status: Status = Status.WAITING
    progress: float = 0.0
    stage: str = ""
    error: str = ""
    size: tuple[int, int] | None = None  # (w, h)
    file_bytes: int | None = None
    thumbnail: np.ndarray | None = None
    output: Path | None = None
    model: str = ""  # short name of the model that upscaled it ("auto" picks one per file)
    seconds: float | None = None  # wall time of the whole item
    started_at: float | None = None

    @property
    def megapixels(self) -> float | None:
        return None if self.size is None else self.size[0] * self.size[1] / 1e6


@dataclass(frozen=True)
class Overall:
    """Overall progress: item ``current`` of ``total`` (1-based; 0 when idle), fraction, ETA."""

    current: int
    total: int
    done: int
    failed: int
    cancelled: int
    fraction: float
    eta_s: float | None

    def text(self) -> str:
        if self.total == 0:
            return "Drop images or folders here"
        parts = [f"Item {self.current} of {self.total}" if self.current else f"{self.total} item{'s' if self.total != 1 else ''}"]
        parts.append(f"{self.done} done")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        if self.eta_s is not None:
            parts.append("ETA " + format_duration(self.eta_s))
        return " · ".join(parts)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


@dataclass
class _Rate:
    """Seconds per megapixel of finished items, for the ETA."""

    seconds: float = 0.0
    mpix: float = 0.0
    items: int = 0

    def add(self, seconds: float, mpix: float | None) -> None:
        self.seconds += seconds
        self.items += 1
        self.mpix += mpix or 0.0

    def estimate(self, mpix: float | None) -> float | None:
        if self.items == 0:
            return None
        if mpix is not None and self.mpix > 0:
            return self.seconds / self.mpix * mpix
        return self.seconds / self.items


class QueueModel(QObject):
    """Ordered queue items with change signals.

    Signals: ``inserted(row, count)``, ``changed(row)``, ``removed(row)``, ``overall_changed()``.
    """

    inserted = Signal(int, int)
    changed = Signal(int)
    removed = Signal(int)
    overall_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._ids = itertools.count(1)
        self._rate = _Rate()
        self._clock = time.monotonic

    # -- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[QueueItem]:
        return list(self._items)

    def at(self, row: int) -> QueueItem:
        return self._items[row]

    def get(self, item_id: int) -> QueueItem | None:
        return next((it for it in self._items if it.id == item_id), None)

    def row_of(self, item_id: int) -> int:
        return next((i for i, it in enumerate(self._items) if it.id == item_id), -1)

    def next_waiting(self) -> QueueItem | None:
        return next((it for it in self._items if it.status is Status.WAITING), None)

    def input_paths(self) -> tuple[Path, ...]:
        """Every input of the queue: outputs must never be written onto any of them."""
        return tuple(it.path for it in self._items)

    # -- changing ------------------------------------------------------------------------------
    def add(self, entries: list[tuple[Path, Path | None]], *, evaluate: bool = False) -> list[int]:
        """Append files (``(path, dropped root)``); a file already waiting in the same mode is skipped."""
        waiting = {(it.path, it.evaluate) for it in self._items if not it.status.finished}
        new = []
        for path, root in entries:
            key = (Path(path), evaluate)
            if key in waiting:
                continue
            waiting.add(key)
            new.append(QueueItem(next(self._ids), Path(path), None if root is None else Path(root), evaluate))
        if new:
            first = len(self._items)
            self._items.extend(new)
            self.inserted.emit(first, len(new))
            self.overall_changed.emit()
        return [it.id for it in new]

    def update(self, item_id: int, **values) -> None:
        """Set fields of an item and notify (unknown item ids are ignored: it may have been removed)."""
        row = self.row_of(item_id)
        if row < 0:
            return
        item = self._items[row]
        before = item.status
        for name, value in values.items():
            if not hasattr(item, name):
                raise AttributeError(f"QueueItem has no field {name!r}")
            setattr(item, name, value)
        if item.status is Status.RUNNING and before is not Status.RUNNING and item.started_at is None:
            item.started_at = self._clock()
        if item.status is Status.DONE and before is not Status.DONE and item.started_at is not None:
            item.seconds = self._clock() - item.started_at
            self._rate.add(item.seconds, item.megapixels)
        self.changed.emit(row)
        self.overall_changed.emit()

    def remove(self, item_ids: list[int]) -> None:
        """Drop items (the caller makes sure none of them is running)."""
        for item_id in item_ids:
            row = self.row_of(item_id)
            if row >= 0:
                del self._items[row]
                self.removed.emit(row)
        self.overall_changed.emit()

    def retry(self, item_ids: list[int]) -> list[int]:
        """Put failed or cancelled items back to waiting; returns the ids re-queued."""
        again = []
        for item_id in item_ids:
            item = self.get(item_id)
            if item is not None and item.status in (Status.FAILED, Status.CANCELLED):
                self.update(item_id, status=Status.WAITING, progress=0.0, stage="", error="", started_at=None, seconds=None,
                            model="")
                again.append(item_id)
        return again

    def clear_finished(self) -> None:
        self.remove([it.id for it in self._items if it.status is Status.DONE])

    # -- overall -------------------------------------------------------------------------------
    def overall(self) -> Overall:
        """Item N of M, fraction of the work done, and an ETA from the speed of finished items."""
        items = self._items
        total = len(items)
        count = {s: sum(1 for it in items if it.status is s) for s in Status}
        finished = count[Status.DONE] + count[Status.FAILED] + count[Status.CANCELLED]
        active = [it for it in items if it.status in (Status.RUNNING, Status.PAUSED)]
        current = finished + 1 if active else 0
        partial = sum(it.progress for it in active)
        # Failed and cancelled items are not work done: they leave the count instead of filling the bar.
        to_do = total - count[Status.FAILED] - count[Status.CANCELLED]
        fraction = (count[Status.DONE] + partial) / to_do if to_do > 0 else (1.0 if total else 0.0)
        eta = None
        waiting = [it for it in items if it.status is Status.WAITING]
        if active or waiting:
            wholes = [self._rate.estimate(it.megapixels) for it in waiting]  # whole-item seconds
            parts = list(wholes)  # seconds left per item
            for it in active:
                est = self._rate.estimate(it.megapixels)
                if est is None and it.started_at is not None and it.progress > 0.0:
                    # First item: extrapolate it from the first stage on (rough, but there is an ETA).
                    est = (self._clock() - it.started_at) / it.progress
                wholes.append(est)
                parts.append(None if est is None else est * (1.0 - it.progress))
            known = [p for p in parts if p is not None]
            whole = [w for w in wholes if w is not None]
            if known:
                # Items without an estimate of their own count as the average known whole item.
                eta = sum(known) + (len(parts) - len(known)) * (sum(whole) / len(whole))
        return Overall(current, total, count[Status.DONE], count[Status.FAILED], count[Status.CANCELLED], fraction, eta)
