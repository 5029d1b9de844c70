"""One estimate (issue 18, item 3): the wizard and the monitor show the same duration for the same
measured speed, and a run ended by a time limit is labelled as such."""

from __future__ import annotations

import time

from test_training_support import make_images, tiny_overrides

from srgan_desktop.training.monitor import MonitorWidget
from srgan_desktop.training.wizard import TrainingWizard
from trainer.train.support.config_draft import ConfigDraft
from trainer.train.support.probe import ProbeResult
from trainer.train.support.run_state import MonitorState, format_duration


def _wizard(qtbot, photos, **more):
    draft = ConfigDraft("quick")
    for key, value in tiny_overrides(photos, None, **more).items():
        draft.set(key, value)
    w = TrainingWizard(draft, auto_probe=False)
    qtbot.addWidget(w)
    return w


def _measured(w, seconds_per_100):
    hw = w.hardware_page
    hw.result = ProbeResult("cpu", seconds_per_100, {n: 6 for n in seconds_per_100})
    hw._probe_key = hw._key()
    hw.changed()


def _live_monitor(qtbot, config, speed):
    state = MonitorState()
    state.plan_phases(config, speed)
    now = time.monotonic()
    state.apply({"event": "RunStarted", "run_dir": "/x/r", "recipe": "quick", "device": "cpu", "precision": "float32",
                 "total_steps": config.total_steps, "start_step": 0, "train_images": 2, "val_images": 0}, now=now)
    p = config.phases[0]
    state.apply({"event": "PhaseChanged", "index": 0, "name": p.name, "start_step": 0, "end_step": p.iterations,
                 "adversarial": "none"}, now=now)
    monitor = MonitorWidget()
    qtbot.addWidget(monitor)
    monitor.attach(state, None, config)
    return monitor, state


def test_wizard_and_monitor_show_the_same_duration_for_the_same_measured_speed(qtbot, env_dirs, tmp_path):
    photos = make_images(tmp_path / "photos", n=2)
    w = _wizard(qtbot, photos, **{"phases.*.iterations": 1500})
    config = w.draft.build()
    _measured(w, {p.name: 8.0 for p in config.phases})  # 0.08 s per step
    duration = format_duration(sum(0.08 * p.iterations for p in config.phases))
    assert f"Estimated training time: {duration} for {config.total_steps:,} steps (measured speed)" in w.hardware_page.estimate.text()
    assert duration in w.estimate_text()
    request = w.request()
    assert request.speed == {p.name: 0.08 for p in config.phases}
    monitor, _ = _live_monitor(qtbot, config, request.speed)
    assert monitor.remaining_text() == duration
    assert f"remaining {duration}" in monitor.stats.text()


def test_time_limits_count_in_both_and_a_time_limited_run_is_labelled_so(qtbot, env_dirs, tmp_path):
    photos = make_images(tmp_path / "photos", n=2)
    w = _wizard(qtbot, photos, **{"phases.*.iterations": 1500, "phases.*.time_limit_s": 150.0})
    config = w.draft.build()
    _measured(w, {p.name: 200.0 for p in config.phases})  # 2 s per step: 75 steps in 150 s
    text = w.hardware_page.estimate.text()
    first = config.phases[0].name
    assert "stops at its time limit" in text and first in text
    monitor, state = _live_monitor(qtbot, config, w.request().speed)
    assert format_duration(150.0 * len(config.phases)) in monitor.remaining_text()
    assert "time limit" in monitor.remaining_text()
    for i in range(1, 76):
        state.apply({"event": "TrainStep", "step": i, "total_steps": config.total_steps, "phase": first,
                     "losses": {"g_total": 1.0}, "lr": 1e-4, "lr_d": None, "steps_per_second": 0.5,
                     "images_per_second": 1.0, "data_fraction": 0.0, "interval": 1}, now=time.monotonic() + 2.0 * i)
    state.apply({"event": "Notice", "message": f"phase {first} reached its time limit (150 s) after 75 steps", "level": "info"})
    total = config.total_steps
    state.apply({"event": "Finished", "step": 75, "total_steps": total, "stopped": False, "run_dir": "/x/r", "seconds": 150.0})
    monitor.refresh(force=True)
    assert monitor.status.text() == f"Stopped at the time limit after 75 of {total:,} steps"
    assert monitor.status.text() != "Finished"
    assert monitor.progress.value() == round(1000 * 75 / total)
