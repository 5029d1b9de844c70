"""Guards against Qt-binding bugs that crash a long session rather than fail a short test.

PySide6 6.12.0 on Python 3.11 decremented the reference count of ``True`` on every signal emit (and
of ``None`` in ``deleteLater``/``setObjectName``/static ``processEvents``): the application's
workers emit one signal per tile or training event, so after a few thousand events the interpreter
aborted with "bool_dealloc: deallocating True or False". On Python 3.12+ these singletons are
immortal and the counts do not move at all, so the checks hold there too.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QThread, Signal, Slot

from srgan_desktop.worker import start_worker


class _Emitter(QObject):
    value = Signal(object)
    bare = Signal()


class _Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.got = 0

    @Slot(object)
    def on_value(self, _v: object) -> None:
        self.got += 1


def _counts() -> tuple[int, int, int]:
    return sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)


def test_emit_and_object_calls_do_not_steal_references_to_singletons(qapp):
    emitter, receiver = _Emitter(), _Receiver()
    emitter.value.connect(receiver.on_value)
    thread = QThread()
    before = _counts()
    for i in range(500):
        emitter.value.emit(i)
        emitter.bare.emit()
        QObject().deleteLater()
        thread.setObjectName("probe")
    after = _counts()
    assert receiver.got == 500
    # Leaks (counts going up) are harmless; a count going down means the binding frees what it
    # does not own. Allow a little slack for unrelated interpreter activity.
    drops = [b - a for a, b in zip(after, before)]
    assert max(drops) < 50, f"True/False/None references lost: {drops}"


def test_thousands_of_worker_events_are_delivered(qtbot):
    received = []

    def job(n: int):
        yield from range(n)

    handles = [start_worker(job, 500, connect={"yielded": received.append}) for _ in range(8)]
    qtbot.waitUntil(lambda: len(received) == 8 * 500 and all(h.is_done for h in handles), timeout=60000)
    assert sorted(received) == sorted(list(range(500)) * 8)
