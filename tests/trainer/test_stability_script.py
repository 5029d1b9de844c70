"""scripts/stability.py: issue 13's stability verdict over a run's validations and set measurements."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/stability.py")


def _vals(psnr_by_step: dict[int, float]) -> list[dict]:
    return [{"step": s, "psnr": p, "niqe": 5.0} for s, p in psnr_by_step.items()]


def _sets(psnr: float = 28.0, bicubic: float = 26.0) -> dict:
    return {name: {"psnr": psnr, "bicubic_psnr": bicubic} for name in ("Set5", "Set14", "BSD68")}


def test_validations_up_to_the_first_1000_steps_are_not_judged(script):
    rows = _vals({500: 30.0, 1000: 30.5, 1500: 31.0, 2000: 30.9})
    v = script.verdict(rows, {1500: _sets(), 2000: _sets()}, holdout_floor=30.8, after=1000, total_steps=2000)
    assert v["status"] == "held" and v["holdout_min_margin"] == pytest.approx(0.1)


def test_a_hold_out_or_a_set_under_its_floor_breaks_it_at_the_first_such_step(script):
    rows = _vals({1500: 31.0, 2000: 30.79, 2500: 31.0})
    v = script.verdict(rows, {1500: _sets(), 2000: _sets(), 2500: _sets()}, holdout_floor=30.8, after=1000, total_steps=2500)
    assert (v["status"], v["step"]) == ("broken", 2000) and "hold-out" in v["what"]
    rows = _vals({1500: 31.0, 2000: 31.0})
    low = {**_sets(), "BSD68": {"psnr": 26.95, "bicubic_psnr": 26.0}}
    v = script.verdict(rows, {1500: low, 2000: _sets()}, holdout_floor=30.8, after=1000, total_steps=2000)
    assert (v["status"], v["step"]) == ("broken", 1500) and v["what"].startswith("BSD68")


def test_not_final_until_the_last_step_is_validated_and_every_step_measured(script):
    rows = _vals({1500: 31.0, 2000: 31.0})
    assert script.verdict(rows, {1500: _sets(), 2000: _sets()}, holdout_floor=30.8, after=1000, total_steps=3000)["status"] == "held so far"
    assert script.verdict(rows, {2000: _sets()}, holdout_floor=30.8, after=1000, total_steps=2000)["status"] == "held so far"


def test_the_run_plan_comes_from_the_run_config(script, tmp_path):
    from trainer import config as cfg

    c = cfg.load(script.ROOT / "docs/train_configs/gan33.toml")
    cfg.save(c, tmp_path / "config.toml")
    assert script.run_plan(tmp_path) == (500, 10000)
    table = script.table(_vals({500: 30.9}), {500: _sets()})
    assert "| 500 | 30.900 / 5.00 | 28.00 / 28.00 / 28.00 |" in table
