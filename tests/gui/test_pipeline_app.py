"""The app and ``srgan-upscale`` run one pipeline: same files, same per-file results; auto in the queue."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import save_tiny_model, write_image
from PySide6.QtCore import Qt

from srgan_desktop.queue_panel import format_status
from srgan_desktop.state.queue_state import Status
from trainer.app.files import scan
from trainer.app.jobs import FileFailed, JobOptions, process_item
from trainer.pipeline import FileDone


@pytest.fixture()
def auto_models(env_dirs) -> Path:
    """Tiny ``srgan_x4`` (clean) and ``photo_x4`` shipped: what ``auto`` chooses between."""
    save_tiny_model(env_dirs["models"] / "srgan_x4.safetensors", seed=0)
    save_tiny_model(env_dirs["models"] / "photo_x4.safetensors", seed=1)
    return env_dirs["models"]


def _folder(tmp_path: Path) -> Path:
    """in/clean.png, in/trip/day1/photo.jpg (nested), in/junk.png (not an image)."""
    src = tmp_path / "in"
    write_image(src / "clean.png", size=(20, 16), seed=1)
    write_image(src / "trip" / "day1" / "photo.jpg", size=(16, 12), seed=2)
    (src / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return src


def _files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}


def _results(events: list[FileDone], out: Path) -> list[tuple]:
    return [(e.source, e.status, None if e.output is None else e.output.relative_to(out).as_posix(), e.reason, e.model)
            for e in events]


def test_cli_and_app_write_the_same_files_and_report_the_same_results(auto_models, tmp_path, monkeypatch, capsys):
    import trainer.cli.upscale as cli

    src = _folder(tmp_path)
    out_cli, out_app = tmp_path / "out_cli", tmp_path / "out_app"
    for out in (out_cli, out_app):  # an earlier result in the way: both write clean_x4-1.png next to it
        write_image(out / "in" / "clean_x4.png", size=(8, 8), seed=9)

    cli_events: list[FileDone] = []
    run_plan = cli.run_plan

    def recording(*args, **kwargs):
        for event in run_plan(*args, **kwargs):
            if isinstance(event, FileDone):
                cli_events.append(event)
            yield event

    monkeypatch.setattr(cli, "run_plan", recording)
    assert cli.main([str(src), "-r", "-o", str(out_cli), "--device", "cpu", "-q"]) == 1  # junk.png fails
    assert "models: photo_x4 1, srgan_x4 1" in capsys.readouterr().out

    # The app's job path: the folder scanned as when dropped, each item through process_item with
    # the options the window gives (default model "auto", format "same", one planner for the queue).
    from trainer.pipeline import OutputRules, Planner

    entries = [e for found in scan([src]) for e in found.entries]
    planner = Planner(OutputRules(out_app))
    protect = tuple(path for path, _ in entries)
    app_events: list[FileDone] = []
    failures: dict[Path, str] = {}
    for path, root in entries:
        options = JobOptions(model="auto", device="cpu", out_dir=out_app, protect=protect, planner=planner)
        gen = process_item(path, root, options)
        try:
            for event in gen:
                if isinstance(event, FileDone):
                    app_events.append(event)
        except FileFailed as exc:
            failures[path] = str(exc)

    assert _files(out_app) == _files(out_cli)
    assert sorted(_files(out_cli)) == ["in/clean_x4-1.png", "in/clean_x4.png", "in/trip/day1/photo_x4.jpg"]
    assert _results(app_events, out_app) == _results(cli_events, out_cli)
    assert [(e.source.name, e.status, e.model) for e in cli_events] == [
        ("clean.png", "written", "srgan_x4"), ("junk.png", "failed", "srgan_x4"), ("photo.jpg", "written", "photo_x4")]
    # In the app a failed file fails its queue item, with the file and the reason.
    assert list(failures) == [src / "junk.png"] and failures[src / "junk.png"].startswith(f"{src / 'junk.png'}: ")


def test_queue_shows_the_model_auto_picked_for_each_file(make_window, qtbot, tmp_path, auto_models, env_dirs):
    src = tmp_path / "in"
    write_image(src / "clean.png", size=(20, 16), seed=1)
    write_image(src / "photo.jpg", size=(16, 12), seed=2)
    messages = []
    window = make_window(format="same")
    window.message.connect(messages.append)
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        window.load_environment()  # again, to see its messages: "auto" is no unknown model
    assert not any("Cannot use model" in m for m in messages), messages
    picker = window.options.model
    assert window.settings.model == "auto" and picker.currentData() == "auto"
    assert picker.currentText() == "Auto: photo_x4 (JPEG), srgan_x4 (others)"
    labels = [picker.itemText(i) for i in range(picker.count())]
    assert "photo_x4 x4 (shipped) · photos: JPEG, noise" in labels and "srgan_x4 x4 (shipped) · clean images" in labels
    shown = []
    window.result_shown.connect(shown.append)
    with qtbot.waitSignal(window.runner.queue_finished, timeout=60000):
        window.add_paths([src])
    items = {it.path.name: it for it in window.queue.items}
    assert all(it.status is Status.DONE for it in items.values())
    assert (items["photo.jpg"].model, items["clean.png"].model) == ("photo_x4", "srgan_x4")
    assert items["photo.jpg"].output == env_dirs["out"] / "in" / "photo_x4.jpg"
    assert format_status(items["photo.jpg"]).endswith("· photo_x4")
    index = window.queue_panel.table_model.index(window.queue.row_of(items["clean.png"].id), 0)
    tooltip = index.data(Qt.ItemDataRole.ToolTipRole)
    assert "Model: srgan_x4" in tooltip
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    window.queue_panel.select_item(items["photo.jpg"].id)
    qtbot.waitUntil(lambda: window.comparison.layers.get("sr") is not None
                    and window.comparison.layers["sr"].title == "SR: photo_x4", timeout=10000)


def test_auto_without_the_photo_model_says_so(make_window, env_dirs):
    save_tiny_model(env_dirs["models"] / "srgan_x4.safetensors")
    window = make_window()
    assert window.options.model.currentText() == "Auto: srgan_x4 for every file"
    message = window.statusBar().currentMessage()
    assert "photo_x4" in message and "using srgan_x4 for every file" in message


def test_evaluation_under_auto_uses_the_clean_model(auto_models, tmp_path):
    """Evaluation makes its LR with clean bicubic: auto evaluates with srgan_x4, even for a JPEG;
    a model the user picks is used as it is."""
    gt = write_image(tmp_path / "gt.jpg", size=(32, 24), seed=4)
    for model, expected in (("auto", "srgan_x4"), ("photo_x4", "photo_x4")):
        gen = process_item(gt, None, JobOptions(model=model, device="cpu", evaluate=True))
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            result = stop.value
        assert result.models["sr"] == expected and result.layers["sr"].title == f"SR: {expected}"
        assert result.output is None  # evaluation saves nothing
