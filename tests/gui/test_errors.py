"""Errors said at once and in plain words (issue 18, point 10): a text file named .pth is not a
model file; a missing or non-image ``--open`` fails before any model loads; a .txt given to the
queue is reported; "Clear finished" also clears the comparator."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import write_image

from srgan_desktop.app import check_open_paths
from srgan_desktop.state.queue_state import Status


def test_a_text_file_named_pth_is_not_a_model_file(make_window, qtbot, tmp_path, tiny_model):
    fake = tmp_path / "weights.pth"
    fake.write_text("these are not weights\n")
    window = make_window()
    with qtbot.waitSignal(window.message, timeout=30000, check_params_cb=lambda t: t.startswith("Import failed")) as said:
        window.import_model(str(fake))
    text = said.args[0]
    assert "safety" not in text and "not a" in text, text


def test_open_a_missing_or_non_image_file_fails_at_once(tmp_path, env_dirs):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    image = write_image(tmp_path / "ok.png")
    assert "no such file" in check_open_paths([tmp_path / "missing.png"])
    assert "not an image file" in check_open_paths([text])
    assert check_open_paths([image, tmp_path]) == ""
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "srgan_desktop", "--open", str(tmp_path / "missing.png"),
                          "--screenshot", str(tmp_path / "shot.png")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "missing.png: no such file" in run.stderr
    assert not (tmp_path / "shot.png").exists()
    assert time.monotonic() - t0 < 20  # no window, no model loading (those take far longer on a CPU)


def test_a_text_file_given_to_the_queue_is_reported(make_window, qtbot, tmp_path, tiny_model):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    window = make_window(autostart=False)
    with qtbot.waitSignal(window.message, timeout=30000, check_params_cb=lambda t: "notes.txt" in t) as said:
        window.add_paths([notes])  # as from the open dialog ("All files")
    assert "not an image file" in said.args[0]
    (item,) = window.queue.items
    assert item.status is Status.FAILED and "not an image file" in item.error


def test_clear_finished_clears_the_comparator(make_window, qtbot, tmp_path, tiny_model):
    image = write_image(tmp_path / "in" / "a.png", (24, 20))
    window = make_window(autostart=False)
    window.add_paths([image])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=30000)
    assert window.comparison.layers and window.readouts.result is not None
    window.actions_by_name["clear"].trigger()
    assert len(window.queue) == 0
    assert not window.comparison.layers and window.readouts.result is None and not window.results
