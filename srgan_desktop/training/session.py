"""One training run driven from the GUI: the trainer's generator in the application's worker.

:class:`TrainingSession` runs ``trainer.train.train`` through :func:`srgan_desktop.worker.make_worker`
(the one worker recipe), feeds every event into a :class:`MonitorState` in the GUI thread and
re-emits it. Pause, resume, stop and "save now" go through the trainer's thread-safe
``TrainingControl``, so a stop always ends with a checkpoint. The worker's own abort (used when the
application quits) is a last resort: :meth:`shutdown` asks for a clean stop first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, QObject, Signal

from srgan_desktop.worker import WorkerHandle, make_worker
from trainer.train.events import Error, Finished  # plain dataclasses: no torch
from trainer.train.support.run_state import MonitorState

if TYPE_CHECKING:
    from trainer.config import TrainingConfig
    from trainer.train.events import TrainingControl


def training_job(config: TrainingConfig, run_dir: str | Path, control: TrainingControl, *,
                 resume: bool = False) -> Iterator[Any]:
    """The worker's job: yield the trainer's events."""
    from trainer.train import train

    yield from train(config, run_dir, control=control, resume=resume)


def load_history(state: MonitorState, run_dir: str | Path) -> None:
    """Put a run's logged events into ``state`` (a resumed run shows its whole curve)."""
    from trainer.train.runlog import read_metrics

    for record in read_metrics(run_dir):
        state.apply(record, now=0.0)
    state.status = "starting"


class TrainingSession(QObject):
    """A run in a worker thread. Signals (GUI thread): ``event(object)`` for every trainer event,
    ``ended(object)`` once with the final ``Finished`` or ``Error`` event (or None when the worker
    was aborted without either)."""

    event = Signal(object)
    ended = Signal(object)

    def __init__(self, config: TrainingConfig, run_dir: str | Path, *, resume: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        from trainer.train.events import TrainingControl

        self.config = config
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.control = TrainingControl()
        self.state = MonitorState(run_dir=str(self.run_dir), recipe=config.recipe, total_steps=config.total_steps)
        if resume:
            load_history(self.state, self.run_dir)
        self._kwargs = {"resume": resume}
        self.handle: WorkerHandle | None = None
        self.final: Any = None
        self._ended = False

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> TrainingSession:
        """Start the worker thread."""
        handle = make_worker(training_job, self.config, self.run_dir, self.control, **self._kwargs)
        handle.connect("yielded", self._on_event)
        handle.connect("errored", self._on_worker_error)
        handle.connect("finished", self._on_worker_finished)
        self.handle = handle
        handle.start()
        return self

    @property
    def running(self) -> bool:
        """True from :meth:`start` until :attr:`ended` was emitted (in the GUI thread, after the
        last event was applied: the worker thread itself may stop a moment earlier or later)."""
        return self.handle is not None and not self._ended

    @property
    def done(self) -> bool:
        """True once :attr:`ended` was emitted (a session not started yet is not done: its
        controls already work, a pause asked before the first step holds the run there)."""
        return self._ended

    def _on_event(self, event: Any) -> None:
        self.state.apply(event)
        self.event.emit(event)
        if isinstance(event, (Finished, Error)):
            self.final = event
            self._end(event)

    def _on_worker_error(self, text: str) -> None:
        # Only failures outside train() get here (e.g. the hold-out split); train() reports its own.
        exc = self.handle.worker.exception if self.handle is not None else None
        self._on_event(Error(message=text, exc_type=type(exc).__name__ if exc is not None else "RuntimeError"))

    def _on_worker_finished(self) -> None:
        if not self._ended:  # aborted (the application quit) before Finished/Error
            self.state.status = "interrupted"
            self.state.version += 1
            self._end(None)

    def _end(self, event: Any) -> None:
        if not self._ended:
            self._ended = True
            self.ended.emit(event)

    # -- control (from the GUI thread) -------------------------------------------------------------
    def pause(self) -> None:
        """Pause after the current step."""
        self.control.pause()
        self.state.version += 1

    def resume_run(self) -> None:
        """Continue a paused run."""
        self.control.resume()
        self.state.version += 1

    def toggle_pause(self) -> None:
        """Pause, or resume when paused."""
        self.resume_run() if self.control.paused else self.pause()

    def stop(self) -> None:
        """Stop after the current step, with a checkpoint (and the current model exported)."""
        self.control.stop()
        if self.state.active:
            self.state.status = "stopping"
            self.state.version += 1

    def save_now(self) -> None:
        """Write a checkpoint after the current step (the controller then exports a model from it)."""
        self.control.save_now()

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop cleanly and wait for the worker (application exit); True when it ended in time.

        Queued events (the stop's checkpoint and exported model) are delivered before returning.
        """
        if not self.running:
            return True
        self.stop()
        done = self.handle.wait(timeout_s) if self.handle is not None else True
        # A local loop's processEvents: the static QCoreApplication.processEvents of PySide6 6.12
        # drops a reference to None per call on Python 3.11 (enough calls crash the interpreter).
        QEventLoop().processEvents()
        return done
