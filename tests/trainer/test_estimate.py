"""The one training-time estimate shared by the wizard and the monitor (issue 18, item 3)."""

from __future__ import annotations

import pytest

from types import SimpleNamespace

from trainer.train.support.estimate import PhasePlan, describe, estimate, phase_plans
from trainer.train.support.run_state import MonitorState


def test_estimate_without_a_time_limit_is_steps_times_the_measured_speed():
    est = estimate([PhasePlan("pretrain", 1500)], {"pretrain": 0.08})
    assert est.seconds == pytest.approx(120.0) and est.steps == 1500 and est.measured == ("pretrain",)
    assert not est.limited and not est.guessed
    assert describe(est, "2 min") == "2 min for 1,500 steps (measured speed)"


def test_a_time_limit_caps_the_phase_and_says_how_far_it_gets():
    est = estimate([PhasePlan("pretrain", 1500, time_limit_s=150.0)], {"pretrain": 2.0})
    assert est.seconds == pytest.approx(150.0) and est.limited == ("pretrain",) and est.steps == 75
    assert "stops at its time limit, after about 75 of 1,500 steps" in describe(est, "2 min")
    # a limit the phase does not reach changes nothing
    assert estimate([PhasePlan("pretrain", 10, 150.0)], {"pretrain": 2.0}).seconds == pytest.approx(20.0)


def test_two_phases_at_different_speeds_and_an_unmeasured_phase_is_a_guess():
    phases = [PhasePlan("pretrain", 1000), PhasePlan("gan", 500, time_limit_s=100.0)]
    est = estimate(phases, {"pretrain": 0.05, "gan": 0.5})  # the GAN phase is 10x slower
    assert est.seconds == pytest.approx(50.0 + 100.0) and est.limited == ("gan",) and est.steps == 1000 + 200
    guess = estimate(phases, {"pretrain": 0.05})
    assert guess.guessed == ("gan",) and guess.measured == ("pretrain",) and "a guess" in describe(guess, "x")
    assert estimate(phases, {}).seconds is None


def _config(*phases):
    return SimpleNamespace(phases=tuple(SimpleNamespace(name=n, iterations=i, time_limit_s=t) for n, i, t in phases))


def test_phase_plans_come_from_the_config():
    assert phase_plans(_config(("pretrain", 1500, 150.0), ("gan", 10, 0.0))) == [
        PhasePlan("pretrain", 1500, 150.0), PhasePlan("gan", 10, 0.0)]


def _run(state, phases, now=0.0):
    total = sum(n for _, n in phases)
    state.apply({"event": "RunStarted", "run_dir": "/x/r", "recipe": "quick", "device": "cpu", "precision": "float32",
                 "total_steps": total, "start_step": 0, "train_images": 5, "val_images": 2}, now=now)


def _phase(state, index, name, start, end, now):
    state.apply({"event": "PhaseChanged", "index": index, "name": name, "start_step": start, "end_step": end,
                 "adversarial": "none"}, now=now)


def _step(state, step, total, phase, now):
    state.apply({"event": "TrainStep", "step": step, "total_steps": total, "phase": phase, "losses": {"g_total": 1.0},
                 "lr": 1e-4, "lr_d": None, "steps_per_second": 1.0, "images_per_second": 1.0, "data_fraction": 0.0,
                 "interval": 1}, now=now)


def test_the_monitor_starts_at_the_wizard_estimate_then_follows_each_phase_measured_speed():
    name = "pretrain"
    config = _config((name, 1000, 0.0), ("gan", 500, 0.0))
    probe = {name: 0.05, "gan": 0.5}
    st = MonitorState()
    st.plan_phases(config, probe)
    _run(st, [(name, 1000), ("gan", 500)])
    _phase(st, 0, name, 0, 1000, 0.0)
    wizard = estimate(phase_plans(config), probe).seconds
    assert st.estimate(now=0.0).seconds == pytest.approx(wizard) == pytest.approx(300.0)
    for i in range(1, 11):  # the run is twice as slow as the probe said: 0.1 s per step
        _step(st, i, 1500, name, i * 0.1)
    assert name in st.measured and st.speed[name] == pytest.approx(0.1)
    assert st.estimate(now=1.0).seconds == pytest.approx(990 * 0.1 + 500 * 0.5)


def test_a_run_ended_by_a_time_limit_is_labelled_so_with_its_real_fraction():
    st = MonitorState()
    _run(st, [("pretrain", 1500)])
    _phase(st, 0, "pretrain", 0, 1500, 0.0)
    _step(st, 75, 1500, "pretrain", 150.0)
    st.apply({"event": "Notice", "message": "phase pretrain reached its time limit (150 s) after 75 steps", "level": "info"})
    st.apply({"event": "Finished", "step": 75, "total_steps": 1500, "stopped": False, "run_dir": "/x/r", "seconds": 150.0})
    assert st.status == "time_limit" and st.time_limited == ["pretrain"] and st.progress() == pytest.approx(0.05)
    assert st.notices[-1] == "Stopped at the time limit after 75 of 1,500 steps"
    stopped = MonitorState()
    _run(stopped, [("pretrain", 1500)])
    stopped.apply({"event": "Finished", "step": 75, "total_steps": 1500, "stopped": True, "run_dir": "/x/r", "seconds": 1.0})
    assert stopped.status == "stopped" and stopped.notices[-1] == "Stopped after 75 of 1,500 steps (resumable)"
