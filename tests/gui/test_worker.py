"""The generic worker recipe: signal order, errors, abort, pause, callbacks in the GUI thread."""

from __future__ import annotations

import threading

import pytest

from srgan_desktop.worker import live_workers, make_worker, shutdown_workers, start_worker


def _record(handle, log: list) -> None:
    w = handle.worker
    w.started.connect(lambda: None)  # the raw signals exist and can be connected
    for name in ("started", "yielded", "returned", "errored", "aborted", "finished"):
        handle.connect(name, lambda *a, n=name: log.append((n, *a)))


def test_generator_signals_in_order(qtbot):
    def job(n):
        for i in range(n):
            yield i
        return "done"

    log: list = []
    handle = make_worker(job, 3)
    _record(handle, log)
    with qtbot.waitSignal(handle.worker.finished, timeout=10000):
        handle.start()
    qtbot.waitUntil(lambda: bool(log) and log[-1][0] == "finished")
    assert log == [("started",), ("yielded", 0), ("yielded", 1), ("yielded", 2), ("returned", "done"), ("finished",)]


def test_plain_function_and_exception(qtbot):
    log: list = []
    handle = make_worker(lambda a, b: a + b, 2, 3)
    _record(handle, log)
    handle.start()
    qtbot.waitUntil(lambda: bool(log) and log[-1][0] == "finished", timeout=10000)
    assert log == [("started",), ("returned", 5), ("finished",)]

    def bad():
        yield 1
        raise ValueError("photo.png: not an image")

    log2: list = []
    handle = make_worker(bad)
    _record(handle, log2)
    handle.start()
    qtbot.waitUntil(lambda: bool(log2) and log2[-1][0] == "finished", timeout=10000)
    assert log2 == [("started",), ("yielded", 1), ("errored", "photo.png: not an image"), ("finished",)]
    assert isinstance(handle.worker.exception, ValueError)


def test_callbacks_run_in_the_gui_thread(qtbot):
    threads = []

    def job():
        yield threading.current_thread().name

    handle = start_worker(job, connect={"yielded": lambda worker_thread: threads.append((worker_thread, threading.current_thread().name))})
    qtbot.waitUntil(lambda: bool(threads), timeout=10000)
    worker_thread, callback_thread = threads[0]
    assert callback_thread == threading.main_thread().name
    assert worker_thread != callback_thread
    qtbot.waitUntil(lambda: handle.is_done)


def test_abort_between_yields_closes_the_generator(qtbot):
    closed = threading.Event()
    gate = threading.Event()

    def job(cancel):
        try:
            yield 1
            gate.wait(10)  # held here until the test has asked for the abort
            yield 2
            yield 3
        finally:
            closed.set()

    log: list = []
    handle = make_worker(job, cancel_kwarg="cancel")
    _record(handle, log)

    def on_first(_value):
        handle.abort()
        assert handle.worker._kwargs["cancel"].is_set()  # the job sees the same event
        gate.set()

    handle.connect("yielded", on_first)
    handle.start()
    qtbot.waitUntil(lambda: bool(log) and log[-1][0] == "finished", timeout=10000)
    names = [entry[0] for entry in log]
    assert names[-2:] == ["aborted", "finished"]
    assert ("yielded", 3) not in log and "returned" not in names
    assert closed.is_set()


def test_engine_cancellation_exception_counts_as_aborted(qtbot):
    class UpscaleCancelled(Exception):
        pass

    def job(cancel):
        yield 1
        cancel.wait(10)
        raise UpscaleCancelled("upscale cancelled")

    log: list = []
    handle = make_worker(job, cancel_kwarg="cancel")
    _record(handle, log)
    handle.connect("yielded", lambda _v: handle.abort())
    handle.start()
    qtbot.waitUntil(lambda: bool(log) and log[-1][0] == "finished", timeout=10000)
    assert [e[0] for e in log] == ["started", "yielded", "aborted", "finished"]


def test_pause_holds_the_job_until_resumed(qtbot):
    steps = []
    handles = []

    def job():
        for i in range(4):
            if i == 1:
                handles[0].pause()  # thread-safe; asked here so the test knows exactly where it holds
            steps.append(i)
            yield i
        return len(steps)

    log: list = []
    handle = make_worker(job)
    handles.append(handle)
    _record(handle, log)
    handle.start()
    qtbot.waitUntil(lambda: ("yielded", 1) in log, timeout=10000)
    # Paused before asking the generator for step 2: it cannot have started it.
    assert handle.is_paused and steps == [0, 1] and not handle.is_done
    handle.resume()
    qtbot.waitUntil(lambda: bool(log) and log[-1][0] == "finished", timeout=10000)
    assert ("returned", 4) in log and steps == [0, 1, 2, 3]


def test_shutdown_aborts_live_workers(qtbot):
    closed = threading.Event()

    def endless(cancel):
        try:
            while True:
                yield 0
                cancel.wait(0.01)  # the job's own pacing; the test itself never sleeps
        finally:
            closed.set()

    got = []
    handle = start_worker(endless, cancel_kwarg="cancel", connect={"yielded": got.append})
    qtbot.waitUntil(lambda: bool(got) and handle in live_workers())
    assert shutdown_workers(10.0)
    assert handle.is_done and closed.is_set()


def test_unknown_signal_name_is_refused():
    handle = make_worker(lambda: None)
    with pytest.raises(ValueError, match="unknown worker signal"):
        handle.connect("progress", print)


def test_garbage_is_collected_by_the_gui_thread_timer(qtbot):
    import gc

    from srgan_desktop.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(interval_ms=10_000)
    try:
        assert not gc.isenabled()  # no collection in whatever thread allocates next

        class Node:
            pass

        for _ in range(2000):  # cyclic garbage only the collector can free
            a, b = Node(), Node()
            a.other, b.other = b, a
        assert gc.get_count()[0] > collector.threshold[0]
        collector.check()
        assert gc.get_count()[0] < collector.threshold[0]
    finally:
        collector.stop()
    assert gc.isenabled()
