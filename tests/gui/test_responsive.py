"""The window answers every action (issue 18, points 4 and 5): Cancel says "Cancelling…" at once and
the job stops within about a second even inside a one-tile forward; Start and Resume are never both
offered; failed items do not fill the progress bar; an ETA shows before the first item finishes; a
quit during an upscale asks, cancels promptly, keeps the finished outputs and never blocks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import write_image

from srgan_desktop.state.queue_state import QueueModel, Status
from trainer.app.jobs import Progress, process_item

CANCEL_LIMIT_S = 1.5  # target about 1 s; a little slack for a CPU shared with other work


@pytest.fixture()
def slow_model(env_dirs) -> Path:
    """A full-size SRResNet (16 blocks, 64 channels): a 96-pixel image takes seconds in one forward."""
    import torch

    from trainer.modelfile import save_model
    from trainer.models import build_model

    torch.manual_seed(0)
    model = build_model("srresnet", num_blocks=16, channels=64, scale=4)
    return save_model(model, env_dirs["models"] / "slow_x4.safetensors", metadata={"description": "slow test model"})


def _upscaling(item) -> bool:
    return item.status is Status.RUNNING and item.stage.startswith("Upscaling")


def test_cancel_is_shown_at_once_and_stops_inside_the_forward(make_window, qtbot, tmp_path, slow_model):
    image = write_image(tmp_path / "in" / "small.png", size=(96, 96))
    window = make_window(model="slow_x4", autostart=False)
    window.add_paths([image])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    (item,) = window.queue.items
    window.start_processing()
    qtbot.waitUntil(lambda: _upscaling(item), timeout=60000)
    qtbot.wait(150)  # inside the forward of the one tile
    assert item.status is Status.RUNNING, "the image finished before it could be cancelled: use a bigger one"
    t0 = time.monotonic()
    window.runner.cancel()
    assert item.stage == "Cancelling…" and time.monotonic() - t0 < 0.1  # said at once
    assert not window.actions_by_name["start"].isEnabled()
    qtbot.waitUntil(lambda: item.status is Status.CANCELLED, timeout=10000)
    assert time.monotonic() - t0 < CANCEL_LIMIT_S
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10000)


def test_start_and_resume_are_not_both_offered_while_paused(make_window, qtbot, tmp_path, tiny_model):
    import threading

    gate = threading.Event()
    paths = [write_image(tmp_path / "in" / f"{n}.png", size=(16, 16), seed=i) for i, n in enumerate("ab")]

    def gated(path, root, options, cancel):
        gen = process_item(path, root, options, cancel)
        yield next(gen)
        gate.wait(30)
        return (yield from gen)

    window = make_window(job=gated, autostart=False)
    window.add_paths(paths)
    qtbot.waitUntil(lambda: len(window.queue) == 2, timeout=10000)
    window.start_processing()
    qtbot.waitUntil(lambda: window.queue.items[0].status is Status.RUNNING, timeout=30000)
    window.runner.pause()
    a = window.actions_by_name
    assert a["pause"].text() == "Resume" and a["pause"].isEnabled()
    assert not a["start"].isEnabled()
    gate.set()
    with qtbot.waitSignal(window.runner.queue_finished, timeout=60000):
        window.runner.resume()
    assert all(it.status is Status.DONE for it in window.queue.items)


def test_failed_items_are_not_progress_and_the_first_item_has_an_eta(qtbot):
    q = QueueModel()
    now = [0.0]
    q._clock = lambda: now[0]
    a, b, c = q.add([(Path("a.png"), None), (Path("b.png"), None), (Path("c.png"), None)])
    q.update(a, status=Status.FAILED, error="unreadable")
    o = q.overall()
    assert o.fraction == 0.0  # a failed item is not work done
    q.update(b, status=Status.RUNNING, progress=0.0)
    now[0] += 2.0
    q.update(b, progress=0.25, stage="Upscaling")
    o = q.overall()
    assert o.fraction == pytest.approx(0.125)  # b is a quarter of the two items left to do
    assert o.eta_s is not None and "ETA" in o.text()  # before any item has finished
    assert o.eta_s == pytest.approx(6.0 + 8.0)  # b: 8 s in all, 6 left; c: as long as b


def test_quit_during_an_upscale_asks_cancels_and_keeps_finished_outputs(make_window, qtbot, tmp_path, tiny_model, slow_model, env_dirs):
    first = write_image(tmp_path / "in" / "first.png", size=(16, 16))
    second = write_image(tmp_path / "in" / "second.png", size=(96, 96), seed=1)
    window = make_window(model="tiny_x4", autostart=False)
    window.add_paths([first])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    with qtbot.waitSignal(window.runner.queue_finished, timeout=60000):
        window.start_processing()
    (done,) = window.queue.items
    assert done.status is Status.DONE and done.output.is_file()

    window.settings.model = "slow_x4"
    window.add_paths([second])
    qtbot.waitUntil(lambda: len(window.queue) == 2, timeout=10000)
    running = window.queue.items[1]
    window.start_processing()
    qtbot.waitUntil(lambda: _upscaling(running), timeout=60000)

    asked = []
    window.confirm_quit = lambda: asked.append(True) or False  # "No": nothing happens
    window.close()
    assert asked and window.isVisible() and running.status is Status.RUNNING

    window.confirm_quit = lambda: asked.append(True) or True
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 0.2  # the GUI thread is not blocked while the job stops
    assert running.stage == "Cancelling…"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert time.monotonic() - t0 < CANCEL_LIMIT_S + 0.5
    assert running.status is Status.CANCELLED and running.output is None
    assert done.output.is_file()  # the finished output is kept


def test_progress_moves_inside_a_one_tile_forward(make_window, qtbot, tmp_path, slow_model):
    image = write_image(tmp_path / "in" / "small.png", size=(96, 96))
    window = make_window(model="slow_x4", autostart=False)
    window.add_paths([image])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    (item,) = window.queue.items
    seen: list[tuple[float, str]] = []
    window.queue.changed.connect(lambda _row: seen.append((item.progress, item.stage)))
    with qtbot.waitSignal(window.runner.queue_finished, timeout=120000):
        window.start_processing()
    assert item.status is Status.DONE
    assert any("(1 tile)" in stage for _, stage in seen), "the image should run as one tile"
    inside = sorted({p for p, stage in seen if "tile" in stage and 0.05 < p < 0.8})
    assert len(inside) >= 5, inside  # the bar moves during the forward, no jump from 5 % to 80 %
    values = [p for p, _ in seen]
    assert values == sorted(values)  # never backwards
