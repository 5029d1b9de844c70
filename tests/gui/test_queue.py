"""The queue with a tiny real model: outputs saved as promised, a corrupt file, pause, cancel, retry."""

from __future__ import annotations

import threading

from conftest import write_image
from PIL import Image

from srgan_desktop.state.queue_state import Status
from trainer.app.jobs import Progress, process_item


def run_queue(window, qtbot, paths, timeout=60000):
    with qtbot.waitSignal(window.runner.queue_finished, timeout=timeout):
        window.add_paths(paths)


def test_folder_with_a_corrupt_file(make_window, qtbot, tmp_path, tiny_model, env_dirs):
    src = tmp_path / "in" / "holiday"
    good = [write_image(src / "beach.png", size=(24, 20), seed=1), write_image(src / "day2" / "hotel.jpg", size=(20, 16), seed=2)]
    corrupt = src / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    originals = {p: p.read_bytes() for p in [*good, corrupt]}
    window = make_window(template="{stem}_x{scale}_{model}")
    shown = []
    window.result_shown.connect(shown.append)
    run_queue(window, qtbot, [src])

    items = {it.path.name: it for it in window.queue.items}
    assert items["broken.png"].status is Status.FAILED
    assert "broken.png" in items["broken.png"].error  # the error names the file and says why
    assert items["beach.png"].status is Status.DONE and items["hotel.jpg"].status is Status.DONE
    out = env_dirs["out"]
    beach_out = out / "holiday" / "beach_x4_tiny_x4.png"
    hotel_out = out / "holiday" / "day2" / "hotel_x4_tiny_x4.jpg"  # the input's own format (the default)
    assert items["beach.png"].output == beach_out and items["hotel.jpg"].output == hotel_out
    assert Image.open(beach_out).size == (96, 80) and Image.open(hotel_out).size == (80, 64)
    assert all(p.read_bytes() == data for p, data in originals.items())  # originals untouched
    o = window.queue.overall()
    assert (o.done, o.failed, o.total) == (2, 1, 3) and "1 failed" in o.text()
    # The first finished item is shown in the comparator with its layers.
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert set(window.comparison.layers) == {"lr", "bicubic", "sr"}
    assert window.comparison.canvas_size in ((96, 80), (80, 64))

    # Fix the file and retry: it is processed; the existing outputs are not overwritten.
    write_image(corrupt, size=(16, 16), seed=3)
    with qtbot.waitSignal(window.runner.queue_finished, timeout=60000):
        window.runner.retry([items["broken.png"].id])
    assert items["broken.png"].status is Status.DONE
    assert items["broken.png"].output == out / "holiday" / "broken_x4_tiny_x4.png"

    # Processing the same folder again writes new names next to the old results.
    window.queue.clear_finished()
    run_queue(window, qtbot, [src])
    assert {it.output.name for it in window.queue.items} == {"beach_x4_tiny_x4-1.png", "hotel_x4_tiny_x4-1.jpg", "broken_x4_tiny_x4-1.png"}


def test_pause_then_cancel_then_retry(make_window, qtbot, tmp_path, tiny_model, env_dirs):
    first = write_image(tmp_path / "in" / "one.png", size=(32, 24), seed=5)
    second = write_image(tmp_path / "in" / "two.png", size=(16, 16), seed=6)
    gate = threading.Event()
    held = threading.Event()

    def gated(path, root, options, cancel):
        """process_item, holding its first upscaling progress event until the test releases it."""
        gen = process_item(path, root, options, cancel)
        try:
            while True:
                event = next(gen)
                if isinstance(event, Progress) and path == first and not held.is_set():
                    held.set()
                    gate.wait(30)
                yield event
        except StopIteration as stop:
            return stop.value

    window = make_window(job=gated, autostart=False)
    window.add_paths([first])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    window.add_paths([second])
    qtbot.waitUntil(lambda: len(window.queue) == 2, timeout=10000)
    one, two = window.queue.items
    window.start_processing()
    qtbot.waitUntil(held.is_set, timeout=30000)

    window.runner.pause()
    assert one.status is Status.PAUSED and window.actions_by_name["pause"].text() == "Resume"
    gate.set()  # the job yields its event, then the paused worker holds it before the next step
    qtbot.waitUntil(lambda: one.progress >= 0.05, timeout=30000)
    assert window.runner.paused and one.status is Status.PAUSED
    # Held before its next step: not saved, not finished.
    assert not env_dirs["out"].exists() or not any(env_dirs["out"].rglob("*.png"))

    with qtbot.waitSignal(window.runner.queue_finished, timeout=30000):
        window.runner.cancel()
    assert one.status is Status.CANCELLED and one.output is None
    assert two.status is Status.WAITING  # cancel stops the queue; the rest stays waiting
    assert not window.runner.running

    with qtbot.waitSignal(window.runner.queue_finished, timeout=60000):
        window.runner.retry([one.id])
    assert one.status is Status.DONE and two.status is Status.DONE
    assert one.output.is_file() and two.output.is_file()


def test_remove_waiting_and_running_items(make_window, qtbot, tmp_path, tiny_model):
    paths = [write_image(tmp_path / "in" / f"{n}.png", size=(16, 16), seed=i) for i, n in enumerate("abc")]
    gate = threading.Event()

    def gated(path, root, options, cancel):
        gen = process_item(path, root, options, cancel)
        yield next(gen)
        gate.wait(30)
        return (yield from gen)

    window = make_window(job=gated, autostart=False)
    window.add_paths(paths)
    qtbot.waitUntil(lambda: len(window.queue) == 3, timeout=10000)
    a, b, c = window.queue.items
    window.start_processing()
    qtbot.waitUntil(lambda: a.status is Status.RUNNING, timeout=30000)
    window.runner.remove([b.id])  # waiting: gone at once
    assert [it.id for it in window.queue.items] == [a.id, c.id]
    with qtbot.waitSignal(window.runner.queue_finished, timeout=60000):
        window.runner.remove([a.id])  # running: cancelled, removed, and the queue goes on
        gate.set()
    assert [it.id for it in window.queue.items] == [c.id] and c.status is Status.DONE


def test_upscale_without_any_model_says_what_to_do(make_window, qtbot, tmp_path, env_dirs):
    image = write_image(tmp_path / "in" / "x.png")
    window = make_window()
    assert window.banner.isVisible() and "No model is shipped yet" in window.banner_label.text()
    assert window.options.model.currentText() == "No model: bicubic baseline only"
    run_queue(window, qtbot, [image])
    item = window.queue.at(0)
    assert item.status is Status.FAILED and "import a model file" in item.error
    assert not env_dirs["out"].exists() or not any(env_dirs["out"].rglob("*.png"))
