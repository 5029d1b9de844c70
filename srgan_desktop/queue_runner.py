"""Runs the queue: one worker per item, in order; pause, cancel, remove and retry.

A bad file fails its own item (the error is shown in the queue) and the queue goes on. Cancel stops
the current item at its next tile and leaves the rest waiting. Pause holds the current item at its
next tile (and starts no new one) until resumed.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from srgan_desktop.state.queue_state import QueueItem, QueueModel, Status
from srgan_desktop.worker import WorkerHandle, make_worker
from trainer.app.jobs import JobOptions, Progress, Stage, process_item
from trainer.pipeline import FileDone, FileStarted

OptionsFor = Callable[[QueueItem], JobOptions]


class QueueRunner(QObject):
    """Drives :class:`QueueModel` items through ``job`` (default :func:`process_item`).

    Signals: ``result_ready(item_id, result)``, ``running_changed(bool)``, ``paused_changed(bool)``,
    ``queue_finished()`` (no waiting item left, or cancelled).
    """

    result_ready = Signal(int, object)
    running_changed = Signal(bool)
    paused_changed = Signal(bool)
    queue_finished = Signal()

    def __init__(self, model: QueueModel, options_for: OptionsFor, job: Callable[..., Any] = process_item,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._options_for = options_for
        self._job = job
        self._handle: WorkerHandle | None = None
        self._current: int | None = None
        self._running = False
        self._paused = False
        self._remove_after: set[int] = set()

    # -- state ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def current_id(self) -> int | None:
        return self._current

    @property
    def busy(self) -> bool:
        """A worker is still alive (possibly winding down after a cancel)."""
        return self._handle is not None

    # -- commands ------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Process waiting items (resumes when paused)."""
        if self._paused:
            self.resume()
            return
        if self._running:
            return
        self._set_running(True)
        if self._handle is None:
            self._next()

    @Slot()
    def pause(self) -> None:
        if not self._running or self._paused:
            return
        self._paused = True
        if self._handle is not None:
            self._handle.pause()
            self.model.update(self._current, status=Status.PAUSED)
        self.paused_changed.emit(True)

    @Slot()
    def resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._handle is not None:
            self._handle.resume()
            self.model.update(self._current, status=Status.RUNNING)
        self.paused_changed.emit(False)
        if self._handle is None and self._running:
            self._next()

    @Slot()
    def toggle_pause(self) -> None:
        self.resume() if self._paused else self.pause()

    @Slot()
    def cancel(self) -> None:
        """Stop the current item (it becomes Cancelled) and do not start the next."""
        if self._paused:
            self._paused = False
            self.paused_changed.emit(False)
        self._set_running(False)
        if self._handle is not None:
            self._handle.abort()  # the engine checks it before each layer: the item stops within ~1 s
            if self._current is not None:
                self.model.update(self._current, stage="Cancelling…")  # at once, before the worker stops
        else:
            self.queue_finished.emit()

    def remove(self, item_ids: list[int]) -> None:
        """Remove items; the running one is cancelled first and removed when its worker has stopped."""
        now = [i for i in item_ids if i != self._current or self._handle is None]
        self.model.remove(now)
        if self._current in item_ids and self._handle is not None:
            self._remove_after.add(self._current)
            self._handle.abort()

    def retry(self, item_ids: list[int]) -> None:
        """Re-queue failed/cancelled items and start processing."""
        if self.model.retry(item_ids):
            self.start()

    # -- worker plumbing -----------------------------------------------------------------------
    def _set_running(self, value: bool) -> None:
        if value != self._running:
            self._running = value
            self.running_changed.emit(value)

    def _next(self) -> None:
        while self._running and not self._paused:
            item = self.model.next_waiting()
            if item is None:
                self._set_running(False)
                self.queue_finished.emit()
                return
            try:
                options = self._options_for(item)
            except Exception as exc:  # e.g. an unusable naming template: this item fails, say why
                self.model.update(item.id, status=Status.FAILED, error=str(exc), stage="")
                continue
            self._current = item.id
            self.model.update(item.id, status=Status.RUNNING, progress=0.0, stage="Starting", error="", model="")
            handle = make_worker(self._job, item.path, item.root, options, cancel_kwarg="cancel")
            # Through the handle's relay: the worker's results never ride in a signal's arguments.
            handle.connect("yielded", self._on_event)
            handle.connect("returned", self._on_returned)
            handle.connect("errored", self._on_errored)
            handle.connect("aborted", self._on_aborted)
            handle.connect("finished", self._on_finished)
            self._handle = handle
            handle.start()
            return

    @Slot(object)
    def _on_event(self, event: object) -> None:
        if self._current is None:
            return
        if isinstance(event, Stage):
            self.model.update(self._current, stage=event.text, progress=max(event.fraction, self._progress()))
        elif isinstance(event, Progress):
            values = {"progress": event.fraction}
            if event.text:
                values["stage"] = event.text
            self.model.update(self._current, **values)
        elif isinstance(event, FileStarted):  # the upscale pipeline picked the model for this file
            self.model.update(self._current, model=event.model)
        elif isinstance(event, FileDone):
            self.model.update(self._current, model=event.model, output=event.output)

    def _progress(self) -> float:
        item = self.model.get(self._current) if self._current is not None else None
        return item.progress if item else 0.0

    @Slot(object)
    def _on_returned(self, result: object) -> None:
        output = getattr(result, "output", None)
        model = getattr(result, "models", {}).get("sr", "")
        self.model.update(self._current, status=Status.DONE, progress=1.0, output=output, model=model,
                          stage=("Saved " + output.name) if output is not None else "Done")
        self.result_ready.emit(self._current, result)

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        self.model.update(self._current, status=Status.FAILED, error=message, stage="")

    @Slot()
    def _on_aborted(self) -> None:
        self.model.update(self._current, status=Status.CANCELLED, stage="Cancelled")

    @Slot()
    def _on_finished(self) -> None:
        done_id = self._current
        self._handle = None
        self._current = None
        if done_id in self._remove_after:
            self._remove_after.discard(done_id)
            self.model.remove([done_id])  # removing the running item stops only that item
        if self._running:
            self._next()
        else:
            self.queue_finished.emit()
