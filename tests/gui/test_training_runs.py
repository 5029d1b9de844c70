"""Runs in the main window: a killed run is listed as resumable and resumes where its checkpoint
left it; models of a run reach the model picker at once; runs can be deleted."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QMainWindow
from test_training_support import make_images, tiny_config

from srgan_desktop.training.controller import TrainingController
from srgan_desktop.training.wizard import StartRequest
from trainer.train.support.config_draft import ConfigDraft


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_images(root / "train", n=4), make_images(root / "val", n=1, size=(32, 36), seed=5)


def _runs(qtbot, controller):
    with qtbot.waitSignal(controller.runs.refreshed, timeout=10000):
        controller.runs.refresh()
    return {r.name: r for r in controller.runs.runs}


def test_a_killed_run_is_listed_as_resumable_and_resumes_from_its_checkpoint(qtbot, data, env_dirs):
    window = QMainWindow()
    qtbot.addWidget(window)
    controller = TrainingController(window, auto_probe=False)
    window.show()
    config = tiny_config(*data, **{"phases.*.iterations": 12, "runtime.val_interval": 6})
    run_dir = env_dirs["user"] / "runs" / "crashy"
    session = controller.start(StartRequest(config, run_dir))
    qtbot.waitUntil(lambda: session.state.step >= 5, timeout=90000)
    # The application dies: the generator is abandoned between two steps, nothing more is written
    # (no checkpoint on stop, no Finished record), as with a killed process.
    session.handle.abort()
    qtbot.waitUntil(lambda: not session.running, timeout=20000)
    assert session.state.status == "interrupted"
    killed_at = session.state.step

    info = _runs(qtbot, controller)["crashy"]
    checkpoint = info.checkpoint_step  # interval 2: the last even step the run got past
    assert info.status == "interrupted" and info.resumable and 4 <= checkpoint <= killed_at
    assert controller.runs.select(run_dir)
    assert controller.runs.buttons["resume"].isEnabled()
    events = []
    controller.runs.buttons["resume"].click()
    resumed = controller.session
    assert resumed is not session and resumed.resume
    resumed.event.connect(events.append)
    qtbot.waitUntil(lambda: not resumed.running, timeout=90000)
    started = next(e for e in events if type(e).__name__ == "RunStarted")
    assert started.resumed and started.start_step == checkpoint  # exactly where the last checkpoint left it
    finished = resumed.final
    assert type(finished).__name__ == "Finished" and not finished.stopped and finished.step == 12
    steps = [e.step for e in events if type(e).__name__ == "TrainStep"]
    assert steps == list(range(checkpoint + 1, 13))
    # The monitor shows the whole run: the logged steps before the crash, then the resumed ones
    # (the steps after the checkpoint were redone and replace the first attempt's).
    curve = resumed.state.history.get("g_pixel")
    assert list(curve.x) == list(range(1, 13)) and killed_at >= 5
    assert np.isfinite(curve.y).all()
    assert _runs(qtbot, controller)["crashy"].status == "finished"
    controller.shutdown()


def test_models_reach_the_picker_at_once_and_a_run_can_be_deleted(qtbot, data, env_dirs, make_window):
    from trainer import zoo

    window = make_window()
    controller = window.training
    assert controller.menu.title() == "&Training" and controller.train_action.shortcut().toString() == "Ctrl+T"
    config = tiny_config(*data, **{"phases.*.iterations": 100000, "runtime.val_interval": 0, "runtime.checkpoint_interval": 0})
    run_dir = env_dirs["user"] / "runs" / "pick-me"
    session = controller.start(StartRequest(config, run_dir))
    monitor = controller.monitor
    assert controller.monitor_dock.isVisible()
    qtbot.waitUntil(lambda: session.state.step >= 2 and monitor.save_button.isEnabled(), timeout=90000)
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        monitor.save_button.click()  # "save model now": a checkpoint, exported to the picker
    snapshot = controller.installed[-1]
    assert snapshot.startswith("pick-me_step")
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        monitor.stop_button.click()  # the stop exports the current model too
    qtbot.waitUntil(lambda: not session.running, timeout=30000)
    assert controller.installed[-1] == "pick-me"
    picker = window.options.model
    names = {picker.itemData(i) for i in range(picker.count())}
    assert {"pick-me", snapshot} <= names
    user = {m.name: m for m in zoo.list_models("user")}
    assert user["pick-me"].metadata["arch"] == "srresnet" and user["pick-me"].metadata["recipe"] == "quick"

    # "Compare in viewer": the run's model becomes the window's second model.
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        monitor.model_button.click()
    assert window.settings.compare_model == "pick-me"

    info = _runs(qtbot, controller)["pick-me"]
    assert info.status == "stopped" and info.resumable
    controller.runs.select(run_dir)
    assert controller.runs.delete_selected(confirm=False)
    assert not run_dir.exists() and "pick-me" not in {r.name for r in controller.runs.runs}
    assert "pick-me" in {m.name for m in zoo.list_models("user")}  # installed models stay


def test_train_action_opens_the_wizard_and_closing_the_window_stops_the_run_cleanly(qtbot, data, env_dirs):
    window = QMainWindow()
    qtbot.addWidget(window)
    controller = TrainingController(window, auto_probe=False)
    window.show()
    controller.train_action.trigger()
    wizard = controller.wizard
    assert wizard is not None and wizard.isVisible() and isinstance(wizard.draft, ConfigDraft)
    assert wizard.currentPage() is wizard.data_page and wizard.data_page.problems[0].field == "data.train_dir"
    wizard.close()
    config = tiny_config(*data, **{"phases.*.iterations": 100000, "runtime.val_interval": 0, "runtime.checkpoint_interval": 0})
    session = controller.start(StartRequest(config, env_dirs["user"] / "runs" / "closing"))
    qtbot.waitUntil(lambda: session.state.step >= 2, timeout=90000)
    window.close()  # the application quits while training
    assert not session.running and session.state.status == "stopped"
    info = _runs(qtbot, controller)["closing"]
    assert info.resumable and info.checkpoint_step == session.state.step  # nothing trained is lost
