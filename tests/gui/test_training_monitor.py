"""The training monitor on real (tiny) runs in the worker thread: curves equal the events, pause /
resume / stop through the buttons, errors become advice with working actions."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QMainWindow
from test_training_support import make_images, tiny_config

from srgan_desktop.training.monitor import MonitorWidget
from srgan_desktop.training.session import TrainingSession


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_images(root / "train", n=4), make_images(root / "val", n=1, size=(32, 36), seed=5)


def _monitor(qtbot, session, config) -> MonitorWidget:
    monitor = MonitorWidget()
    qtbot.addWidget(monitor)
    monitor.attach(session.state, session, config)
    monitor.show()
    return monitor


def test_quick_run_plots_exactly_the_events(qtbot, data, tmp_path, env_dirs):
    config = tiny_config(*data)
    session = TrainingSession(config, tmp_path / "run")
    events = []
    session.event.connect(events.append)
    monitor = _monitor(qtbot, session, config)
    with qtbot.waitSignal(session.ended, timeout=90000) as ended:
        session.start()
    assert type(ended.args[0]).__name__ == "Finished", getattr(ended.args[0], "message", "")
    steps = [e for e in events if type(e).__name__ == "TrainStep"]
    vals = [e for e in events if type(e).__name__ == "Validation"]
    assert [e.step for e in steps] == list(range(1, 9)) and [v.step for v in vals] == [4, 8]
    # The timer redraws from the state (never per event): wait for it, then read the curve data.
    plots = monitor.plots
    qtbot.waitUntil(lambda: monitor.status.text() == "Finished", timeout=5000)
    x, y = plots.curves["g_pixel"].getData()
    assert list(x) == [e.step for e in steps]
    np.testing.assert_allclose(y, [e.losses["g_pixel"] for e in steps])
    x, y = plots.curves["lr"].getData()
    np.testing.assert_allclose(y, [e.lr for e in steps])
    x, y = plots.curves["psnr"].getData()
    assert list(x) == [4, 8]
    np.testing.assert_allclose(y, [v.psnr for v in vals])
    np.testing.assert_allclose(plots.curves["ssim"].getData()[1], [v.ssim for v in vals])
    ref = plots.references["psnr"]
    assert ref.isVisible() and ref.value() == pytest.approx(vals[-1].bicubic_psnr)
    assert "g_total" not in plots.curves  # equal to the only term: not drawn over it
    assert "d_real" not in plots.curves and plots.empty_d.isVisible()
    # The validation crops are re-rendered: LR / bicubic / SR / HR of the validation image.
    row = monitor.samples.cells[0]
    assert all(label.pixmap() is not None and not label.pixmap().isNull() for label in row)
    assert monitor.samples.names[0].text() == "img00.png"
    assert "step 8 of 8" in monitor.progress.format()
    assert not monitor.pause_button.isEnabled() and monitor.model_button.isVisible()
    assert "PSNR" in monitor.stats.text() and "bicubic" in monitor.stats.text()


def test_pause_resume_and_stop_through_the_buttons(qtbot, data, tmp_path, env_dirs):
    config = tiny_config(*data, **{"phases.*.iterations": 100000, "runtime.val_interval": 0, "runtime.checkpoint_interval": 0})
    session = TrainingSession(config, tmp_path / "run")
    events = []
    session.event.connect(events.append)
    monitor = _monitor(qtbot, session, config)
    assert monitor.pause_button.isEnabled()  # usable from the moment the run is set up
    session.start()
    qtbot.waitUntil(lambda: session.state.step >= 2, timeout=90000)
    assert monitor.pause_button.isEnabled() and monitor.pause_button.text() == "Pause"
    monitor.pause_button.click()
    qtbot.waitUntil(lambda: session.state.status == "paused", timeout=20000)
    paused_at = session.state.step
    qtbot.waitUntil(lambda: monitor.pause_button.text() == "Resume" and monitor.status.text() == "Paused", timeout=5000)
    assert any(type(e).__name__ == "Paused" and e.step == paused_at for e in events)
    monitor.pause_button.click()
    qtbot.waitUntil(lambda: session.state.step > paused_at + 1, timeout=20000)
    qtbot.waitUntil(lambda: monitor.pause_button.text() == "Pause", timeout=5000)
    with qtbot.waitSignal(session.ended, timeout=30000) as ended:
        monitor.stop_button.click()
    finished = ended.args[0]
    assert type(finished).__name__ == "Finished" and finished.stopped and finished.step < 100000
    saved = [e for e in events if type(e).__name__ == "CheckpointSaved"]
    assert saved[-1].reason == "stop" and saved[-1].step == finished.step
    assert any(type(e).__name__ == "ModelExported" for e in events)  # the current model is kept
    label = f"Stopped after {finished.step:,} of {finished.total_steps:,} steps (resumable)"  # not "Finished"
    qtbot.waitUntil(lambda: monitor.status.text() == label, timeout=5000)
    assert not monitor.stop_button.isEnabled()


def test_a_failed_run_shows_advice_and_the_retry_action_starts_a_smaller_run(qtbot, data, tmp_path, env_dirs, monkeypatch):
    from trainer.train.events import Error

    from srgan_desktop.training.controller import TrainingController

    calls = []

    def out_of_memory(config, run_dir, control, **kwargs):
        calls.append(config)
        if len(calls) == 1:
            yield Error("CUDA out of memory. Tried to allocate 3.00 GiB", "OutOfMemoryError", 1)
        else:
            yield from real(config, run_dir, control, **kwargs)

    import srgan_desktop.training.session as session_module

    real = session_module.training_job
    monkeypatch.setattr(session_module, "training_job", out_of_memory)
    window = QMainWindow()
    qtbot.addWidget(window)
    controller = TrainingController(window, auto_probe=False)
    window.show()
    config = tiny_config(*data, **{"data.batch_size": 4, "data.crop": 32, "phases.*.iterations": 2})
    session = controller._run(config, tmp_path / "runs" / "oom")
    qtbot.waitUntil(lambda: not session.running, timeout=30000)
    monitor = controller.monitor
    qtbot.waitUntil(lambda: monitor.error_panel.isVisible(), timeout=5000)
    assert monitor.error_panel.title.text() == "Out of memory" and monitor.status.text() == "Failed"
    assert set(monitor.error_panel.buttons) == {"retry_batch", "retry_crop"}
    monitor.error_panel.buttons["retry_batch"].click()
    retry = controller.session
    assert retry is not session and retry.config.data.batch_size == 2
    assert retry.run_dir == tmp_path / "runs" / "oom"  # no checkpoint was written: the folder is reused
    qtbot.waitUntil(lambda: not retry.running, timeout=90000)
    assert type(retry.final).__name__ == "Finished"
    qtbot.waitUntil(lambda: not monitor.error_panel.isVisible(), timeout=5000)
    controller.shutdown()


def test_the_deployed_form_gets_its_own_curves_and_logits_none(qtbot):
    """A run with runtime.val_blend logs Validation.blend: drawn next to the raw model, from a log too."""
    from srgan_desktop.training.plots import TrainingPlots
    from trainer.train.support.run_state import MonitorState

    state = MonitorState()
    for step, (p, bp) in zip((250, 500), ((30.1, 30.7), (30.2, 30.8))):
        state.apply({"event": "Validation", "step": step, "dataset": "holdout", "psnr": p, "ssim": 0.79, "best_psnr": p,
                     "bicubic_psnr": 29.8, "bicubic_ssim": 0.77, "blend": {"label": "blend 0.74 with x, notch 16",
                                                                           "psnr": bp, "ssim": 0.80, "niqe": 5.1}})
    from trainer.train.events import TrainStep

    state.apply(TrainStep(500, 1000, "gan", {"g_pixel": 0.02, "g_adversarial": 0.01, "d_real": 0.3, "d_real_logit": 6.5,
                                              "d_fake_logit": -2.0, "budget_mult": 12.0, "budget_gap_db": 0.8}, 3e-5, 3e-5, 1.0, 8.0, 0.0, 10))
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    assert plots.refresh(state.history)
    # The mean logits (-5..10) and the PSNR budget's factor (1..64) stay off the loss plots, which they would flatten.
    assert "g_pixel" in plots.curves and "d_real" in plots.curves
    assert not any(n.endswith("_logit") or n.startswith("budget_") for n in plots.curves)
    x, y = plots.curves["blend_psnr"].getData()
    assert list(x) == [250, 500] and list(y) == pytest.approx([30.7, 30.8])
    assert list(plots.curves["blend_ssim"].getData()[1]) == pytest.approx([0.80, 0.80])
    assert plots.curves["blend_psnr"].name() == "as shipped (blend)"
