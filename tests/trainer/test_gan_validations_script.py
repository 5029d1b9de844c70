"""scripts/gan_validations.py: smoothed hold-out NIQE and the pick of gan14's second rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/gan_validations.py")


def _run(tmp_path: Path, niqe_by_step: dict[int, float], extra: list[dict] = ()) -> Path:
    lines = [json.dumps({"event": "TrainStep", "step": 1})]
    for step, niqe in niqe_by_step.items():
        lines.append(json.dumps({"event": "Validation", "step": step, "psnr": 30.0 + step / 1e4, "ssim": 0.8, "niqe": niqe}))
    lines += [json.dumps(e) for e in extra] + ['{"event": "Valid']  # a line cut by a crash is skipped
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines))
    return tmp_path


def test_smoothing_averages_neighbours_and_the_pick_needs_both(script, tmp_path):
    run = _run(tmp_path, {500: 6.0, 1000: 5.0, 1500: 4.0, 2000: 6.0, 2500: 3.0})
    rows = script.smoothed(script.validations(run))
    assert [r["smoothed_niqe"] for r in rows] == [None, 5.0, 5.0, pytest.approx(13 / 3), None]
    # 2500 has the lowest raw NIQE but no later neighbour: not a candidate; 2000 wins on the smoothed value.
    assert script.pick(rows, 1000)["step"] == 2000
    assert script.pick(rows, 2500) is None


def test_ties_go_to_the_later_step_and_a_resumed_validation_replaces_the_earlier(script, tmp_path):
    run = _run(tmp_path, {500: 5.0, 1000: 5.0, 1500: 5.0, 2000: 5.01, 2500: 5.0},
               extra=[{"event": "Validation", "step": 500, "psnr": 29.0, "ssim": 0.7, "niqe": 5.0}])
    rows = script.smoothed(script.validations(run))
    assert rows[0]["psnr"] == 29.0 and len(rows) == 5
    assert script.pick(rows, 0)["step"] == 2000  # 1000, 1500, 2000 within 0.02: the latest


def test_cli_writes_the_table_and_pick(script, tmp_path, capsys):
    run = _run(tmp_path, {500: 6.0, 1000: 5.0, 1500: 4.0})
    assert script.main([str(run), "--from-step", "1000", "--json", str(tmp_path / "v.json")]) == 0
    assert "pick (steps >= 1000): step 1000" in capsys.readouterr().out
    assert json.loads((tmp_path / "v.json").read_text())["pick"]["step"] == 1000


def test_the_original_rule_keeps_the_floor_takes_raw_niqe_and_breaks_ties_by_psnr(script, tmp_path):
    # PSNR is 30.0 + step / 1e4: 30.05, 30.10, 30.15, 30.20, 30.25.
    run = _run(tmp_path, {500: 3.0, 1000: 5.0, 1500: 4.50, 2000: 4.51, 2500: 6.0})
    rows = script.smoothed(script.validations(run))
    assert script.pick_over_floor(rows, 1000, 30.0)["step"] == 2000  # 1500 and 2000 tie: the higher PSNR
    assert script.pick_over_floor(rows, 0, 30.0)["step"] == 500  # raw NIQE, no neighbours needed
    assert script.pick_over_floor(rows, 1000, 30.21)["step"] == 2500  # the only one over the floor
    assert script.pick_over_floor(rows, 1000, 30.3) is None


def test_cli_min_psnr_reports_the_floor_pick(script, tmp_path, capsys):
    run = _run(tmp_path, {500: 6.0, 1000: 5.0, 1500: 4.0})
    assert script.main([str(run), "--from-step", "1000", "--min-psnr", "30.12", "--json", str(tmp_path / "v.json")]) == 0
    assert "pick (steps >= 1000, PSNR >= 30.12): step 1500 (NIQE 4.000, PSNR 30.150)" in capsys.readouterr().out
    saved = json.loads((tmp_path / "v.json").read_text())
    assert saved["min_psnr"] == 30.12 and saved["pick"]["step"] == 1500
