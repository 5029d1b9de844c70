"""Run Python's cyclic garbage collector in the GUI thread only, and keep it short.

The collector normally runs in whichever thread happens to allocate when a threshold is crossed;
with worker threads that can be a worker, and a Qt object caught in a reference cycle would then be
destroyed outside its thread, which crashes Qt. The application therefore switches automatic
collection off and collects from a GUI-thread timer instead (the recipe used by pyqtgraph and
others). Reference counting, which frees almost everything, is not affected.

A full collection walks every object of the process: with torch loaded that is over a second on a
busy machine, during which no thread runs Python (the GUI freezes). :meth:`GuiThreadCollector.freeze`
(called once the core is loaded) moves everything alive at that point out of the collector's
reach (``gc.freeze``), and full collections are rate-limited, so later collections only look at
objects made since.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500
FULL_COLLECTION_EVERY_S = 30.0


class GuiThreadCollector(QObject):
    """Collects garbage from a timer in the thread that created it (create it in the GUI thread)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self._last_full = time.monotonic()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds."""
        counts = gc.get_count()
        if counts[0] <= self.threshold[0]:
            return
        generation = 0
        if counts[1] > self.threshold[1]:
            generation = 1
            if counts[2] > self.threshold[2] and time.monotonic() - self._last_full > FULL_COLLECTION_EVERY_S:
                generation = 2
                self._last_full = time.monotonic()
        gc.collect(generation)

    @staticmethod
    def freeze() -> None:
        """Exclude every object alive now (modules, the loaded core) from future collections."""
        gc.freeze()

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()
