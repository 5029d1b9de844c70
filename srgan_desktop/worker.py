"""The one worker recipe of the application: run a function or a generator in a ``QThread``.

Long work is written once, Qt-free, as a generator that yields small typed events; the CLI iterates
it and the GUI runs the very same generator here. Every yielded event reaches the ``yielded``
callbacks; the generator's return value the ``returned`` ones; any exception becomes ``errored(str)``
(the exception object stays on ``Worker.exception``). ``finished`` is always the last signal,
whatever happened.

Python objects never travel through a queued signal's arguments: the worker appends them to an
outbox (a ``deque``, thread-safe for append/popleft) and emits the argument-less ``posted``; the
relay in the GUI thread drains the outbox. Why: Qt copies a queued signal's arguments while it holds
the receiver's signal-slot mutex, and copying a Python object needs the GIL; meanwhile the GUI thread,
holding the GIL, may need that same mutex (any connect, disconnect or object deletion: the mutexes
are a small pool shared by address hash). Seen here as a full deadlock (PySide6 6.11.3: a worker
thread in ``PyObjectWrapper``'s copy waiting for the GIL, the GUI thread in ``QObject::disconnect``
of a widget being deleted waiting for the mutex).

Cancellation and pausing are cooperative: between two yields the worker checks an abort flag and a
pause gate (both ``threading`` primitives, so the generator can share the same ``threading.Event``
with the engine, e.g. ``Upscaler.run(cancel=handle.abort_event)``). ``QThread.terminate()`` is never
used: killing a thread half-way through a tensor operation leaves locks and files in unknown states.

The recipe (as in superqt's ``_qthreading``): the worker is a ``QObject`` moved to a fresh
``QThread``; ``thread.started -> worker.run``; ``worker.finished -> thread.quit`` and
the worker and the thread object are released in the GUI thread once
``thread.isFinished()`` confirms it has stopped (``finished`` is emitted a moment before the
thread really ends, and a ``deleteLater`` racing with that moment crashes). Python references
are kept in a module-level set until the thread has finished and every queued callback has run,
so no wrapper is garbage-collected while its thread runs.

PySide6 runs a lambda or plain function connected to a signal in the *emitting* thread; callbacks
given to :meth:`WorkerHandle.connect` / :func:`start_worker` are therefore relayed through a QObject
living in the creating thread, so they always run there.
"""

from __future__ import annotations

import inspect
import threading
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

_LIVE: set["WorkerHandle"] = set()


class Worker(QObject):
    """Runs ``func(*args, **kwargs)`` in its thread; generators are iterated event by event.

    Signals: ``started()``, ``posted()`` (the outbox holds new ``(name, value)`` items: "yielded" or
    "returned"), ``errored(str)``, ``aborted()``, ``finished()`` (always last). Exactly one of
    returned/errored/aborted happens.
    """

    started = Signal()
    posted = Signal()
    errored = Signal(str)
    aborted = Signal()
    finished = Signal()

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self.abort_event = threading.Event()
        self._running_gate = threading.Event()  # set = may run; cleared = paused
        self._running_gate.set()
        self.exception: BaseException | None = None
        self.outbox: deque[tuple[str, Any]] = deque()

    # -- control (thread-safe: called from the GUI thread) -----------------------------------
    def abort(self) -> None:
        """Ask the job to stop at its next yield (and the engine, if it shares ``abort_event``)."""
        self.abort_event.set()
        self._running_gate.set()  # a paused job must wake up to notice the abort

    def pause(self) -> None:
        """Hold the job at its next yield until :meth:`resume` (or :meth:`abort`)."""
        self._running_gate.clear()

    def resume(self) -> None:
        """Let a paused job continue."""
        self._running_gate.set()

    @property
    def is_paused(self) -> bool:
        return not self._running_gate.is_set()

    # -- the thread body ------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        """Thread body: never raises; always ends with ``finished``."""
        self.started.emit()
        from trainer import live  # standard library only

        try:
            with live.sink(lambda event: self._post("yielded", event)):  # events from inside a long step
                result = self._func(*self._args, **self._kwargs)
                if inspect.isgenerator(result):
                    result, completed = self._drain(result)
                else:
                    completed = not self.abort_event.is_set()
            if not completed:
                self.aborted.emit()
                return
            self._post("returned", result)
        except BaseException as exc:  # noqa: BLE001 - the worker is the boundary that reports errors
            self.exception = exc
            if self.abort_event.is_set() and _is_cancellation(exc):
                self.aborted.emit()
            else:
                self.errored.emit(_describe(exc))
        finally:
            self.finished.emit()

    def _post(self, name: str, value: Any) -> None:
        self.outbox.append((name, value))
        self.posted.emit()  # no arguments: nothing to copy under Qt's mutex (see the module doc)

    def _drain(self, gen: Any) -> tuple[Any, bool]:
        """Iterate ``gen``; returns (return value, True) or (None, False) when aborted."""
        try:
            while True:
                self._running_gate.wait()
                if self.abort_event.is_set():
                    return None, False
                try:
                    event = next(gen)
                except StopIteration as stop:
                    return stop.value, True
                self._post("yielded", event)
        finally:
            gen.close()  # runs the generator's finally blocks in this thread


def _is_cancellation(exc: BaseException) -> bool:
    # Engines raise their own "cancelled" exception when they see the shared abort event.
    return "cancel" in type(exc).__name__.lower()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


class _Relay(QObject):
    """Lives in the thread that started the worker (the GUI thread) and calls plain Python
    callbacks there. Signals connected to lambdas or functions run them in the *emitting* thread in
    PySide6; routing them through the slots of a GUI-thread QObject makes them queued calls."""

    def __init__(self, handle: "WorkerHandle") -> None:
        super().__init__()
        self.handle = handle
        self.callbacks: dict[str, list[Callable[..., Any]]] = {}
        self.worker_done = False
        self.thread_done = False
        self.outbox: deque[tuple[str, Any]] = deque()

    def _call(self, name: str, *args: Any) -> None:
        for cb in self.callbacks.get(name, ()):
            cb(*args)

    @Slot()
    def on_started(self) -> None:
        self._call("started")

    @Slot()
    def on_posted(self) -> None:
        # One posted() per item, but a call drains whatever is there: later calls find it empty.
        outbox = self.outbox
        while outbox:
            name, value = outbox.popleft()
            self._call(name, value)

    @Slot(str)
    def on_errored(self, text: str) -> None:
        self._call("errored", text)

    @Slot()
    def on_aborted(self) -> None:
        self._call("aborted")

    @Slot()
    def on_finished(self) -> None:
        try:
            self._call("finished")
        finally:
            self.worker_done = True
            self._release()

    @Slot()
    def on_thread_finished(self) -> None:
        # ``finished`` is emitted by the thread just *before* it stops: the QThread object must not
        # be destroyed until it has really stopped. Poll instead of wait(), so the GUI thread never
        # blocks on a thread's teardown (which can take a while on a busy machine).
        handle = self.handle
        if handle is not None:
            if not handle.thread.isFinished():
                QTimer.singleShot(10, self.on_thread_finished)
                return
            handle.thread.wait()  # Qt's guarantee that the object may now be deleted; immediate here
        self.thread_done = True
        self._release()

    def _release(self) -> None:
        # Keep every Python wrapper alive until the thread has stopped *and* all queued callbacks ran.
        # Then break the handle <-> relay (and callback -> handle) reference cycles here, in the
        # GUI thread: left to the cyclic garbage collector, these Qt objects could be destroyed in
        # whichever thread happens to trigger a collection, which crashes Qt.
        if self.worker_done and self.thread_done and self.handle is not None:
            handle, self.handle = self.handle, None
            self.callbacks.clear()
            _LIVE.discard(handle)


class WorkerHandle:
    """A worker and its thread, as seen from the thread that created it (the GUI thread).

    ``connect(name, callback)`` before :meth:`start` to receive a signal in this thread (callbacks
    may be lambdas). Keep the handle to abort, pause or wait.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(f"worker:{getattr(worker._func, '__name__', 'job')}")
        self._done = threading.Event()
        self._relay = _Relay(self)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # quit() is thread-safe; a direct connection lets the thread end even while the GUI thread
        # is itself blocked in shutdown_workers() and not processing queued calls.
        worker.finished.connect(self.thread.quit, type=_direct())
        # No worker.deleteLater: that would destroy the worker (a Python subclass) in its own thread,
        # where ~QObject asks Python about overrides (needs the GIL) while holding Qt's
        # signal-slot mutex: a deadlock with a GUI thread that holds the GIL and connects anything
        # (seen with gdb). The worker is freed with its handle, in the GUI thread, after the
        # thread has stopped (_Relay._release).
        # The QThread is deleted when the relay lets go of the handle, once it has stopped (see
        # _Relay.on_thread_finished): a deleteLater on the still-stopping thread can race with it.
        # Set from the worker thread, so wait() works without an event loop.
        worker.finished.connect(self._done.set, type=_direct())
        r = self._relay
        worker.started.connect(r.on_started)
        r.outbox = worker.outbox
        worker.posted.connect(r.on_posted)
        worker.errored.connect(r.on_errored)
        worker.aborted.connect(r.on_aborted)
        worker.finished.connect(r.on_finished)
        self.thread.finished.connect(r.on_thread_finished)

    def connect(self, name: str, callback: Callable[..., Any]) -> "WorkerHandle":
        """Call ``callback`` in this (the creating) thread when the worker emits signal ``name``."""
        if name not in ("started", "yielded", "returned", "errored", "aborted", "finished"):
            raise ValueError(f"unknown worker signal {name!r}")
        self._relay.callbacks.setdefault(name, []).append(callback)
        return self

    @property
    def abort_event(self) -> threading.Event:
        return self.worker.abort_event

    def start(self) -> "WorkerHandle":
        _LIVE.add(self)
        self.thread.start()
        return self

    def abort(self) -> None:
        self.worker.abort()

    def pause(self) -> None:
        self.worker.pause()

    def resume(self) -> None:
        self.worker.resume()

    @property
    def is_paused(self) -> bool:
        return self.worker.is_paused

    @property
    def is_done(self) -> bool:
        """True once the job has emitted ``finished`` (its thread may still be winding down)."""
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job has finished (used on shutdown only; the GUI never waits otherwise)."""
        return self._done.wait(timeout_s)


def _direct() -> Any:
    from PySide6.QtCore import Qt

    return Qt.ConnectionType.DirectConnection


def make_worker(func: Callable[..., Any], *args: Any, cancel_kwarg: str | None = None, **kwargs: Any) -> WorkerHandle:
    """Create (not start) a worker running ``func(*args, **kwargs)`` in a new thread.

    ``cancel_kwarg="cancel"`` also passes the worker's abort event to ``func`` under that name, so
    the job (and the engine it drives) can stop inside a long step, not only between yields.
    """
    worker = Worker(func, *args, **kwargs)
    if cancel_kwarg:
        worker._kwargs[cancel_kwarg] = worker.abort_event
    return WorkerHandle(worker)


def start_worker(
    func: Callable[..., Any],
    *args: Any,
    connect: dict[str, Callable[..., Any]] | None = None,
    cancel_kwarg: str | None = None,
    **kwargs: Any,
) -> WorkerHandle:
    """Create a worker, connect ``connect`` (signal name -> callback, called in this thread) and start it."""
    handle = make_worker(func, *args, cancel_kwarg=cancel_kwarg, **kwargs)
    for name, callback in (connect or {}).items():
        handle.connect(name, callback)
    return handle.start()


def live_workers() -> list[WorkerHandle]:
    """Workers whose thread has not finished yet."""
    return list(_LIVE)


def shutdown_workers(timeout_s: float = 5.0) -> bool:
    """Abort every live worker and wait for them (window close, application exit)."""
    handles = live_workers()
    for h in handles:
        h.abort()
    ok = all(h.wait(timeout_s) for h in handles)
    for h in handles:
        try:
            h.thread.wait(int(timeout_s * 1000))
        except RuntimeError:  # the C++ thread object is already deleted: it has finished
            pass
    return ok
