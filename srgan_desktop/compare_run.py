"""One "Compare with" run at a time, with its progress in the status bar.

Choosing a second model (or Ctrl+M) runs ``trainer.app.jobs.compare_item`` in a worker; the bar
shows its stages and fraction while it runs. A newer request replaces (aborts) the running one, and
only the newest run reports.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QProgressBar, QWidget

from srgan_desktop.worker import WorkerHandle, start_worker


class CompareRun(QProgressBar):
    """The progress bar of the running comparison (hidden when none runs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, 1000)
        self.setMaximumWidth(260)
        self.hide()
        self.handle: WorkerHandle | None = None

    def start(self, job: Callable[..., Any], *args: Any, model: str, source: str,
              returned: Callable[[Any], None], errored: Callable[[str], None]) -> None:
        """Run ``job(*args, cancel=...)`` (``compare_item``) showing its progress."""
        if self.handle is not None:
            self.handle.abort()  # a newer choice replaces the running comparison
        self.setValue(0)
        self.setFormat(f"{model}: %p%")
        self.setToolTip(f"Running {model} on {source} to compare")
        self.show()
        handle: WorkerHandle | None = None

        def mine(callback: Callable[..., None]) -> Callable[..., None]:
            return lambda *a: callback(*a) if handle is self.handle else None

        handle = start_worker(job, *args, cancel_kwarg="cancel",
                              connect={"yielded": mine(self._on_event), "returned": mine(returned),
                                       "errored": mine(errored), "finished": mine(self._on_finished)})
        self.handle = handle

    @property
    def running(self) -> bool:
        return self.handle is not None

    def _on_event(self, event: object) -> None:
        fraction = getattr(event, "fraction", None)
        if fraction is not None:
            self.setValue(int(round(max(0.0, min(1.0, fraction)) * 1000)))
        text = getattr(event, "text", "")
        if text:
            self.setToolTip(text)

    def _on_finished(self) -> None:
        self.handle = None
        self.hide()
