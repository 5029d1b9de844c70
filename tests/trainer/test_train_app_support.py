"""Training support in the core (trainer.train.support): run state, runs listing, error advice, data check."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from test_train_support import make_images

from trainer.train.support.data_check import (
    DataReport,
    ScanProgress,
    Thumbnail,
    preview_pairs,
    scan_training_folder,
)
from trainer.train.holdout import choose_holdout
from trainer.train.support.advice import advise
from trainer.train.support.run_state import MonitorState, Series, format_duration, state_from_records
from trainer.train.support.runs import delete_run, list_runs, read_run


def test_series_grows_and_a_repeated_step_replaces_the_overlapped_tail():
    s = Series(capacity=2)
    for step in range(1, 8):
        s.append(step, step * 10.0)
    assert list(s.x) == [1, 2, 3, 4, 5, 6, 7] and s.last() == 70.0
    s.append(5, -1.0)  # a resumed run repeats steps 5.. after its checkpoint at 4
    assert list(s.x) == [1, 2, 3, 4, 5] and list(s.y) == [10, 20, 30, 40, -1]


def _step(step, total=100, **losses):
    return {"event": "TrainStep", "step": step, "total_steps": total, "phase": "pretrain", "losses": losses, "lr": 1e-4,
            "lr_d": None, "steps_per_second": 2.0, "images_per_second": 32.0, "data_fraction": 0.1, "interval": 1}


def test_monitor_state_absorbs_events_and_computes_rate_and_eta():
    st = MonitorState()
    st.apply({"event": "RunStarted", "run_dir": "/x/run1", "recipe": "quick", "device": "cpu", "precision": "float32",
              "total_steps": 100, "start_step": 0, "train_images": 5, "val_images": 2}, now=0.0)
    st.apply({"event": "PhaseChanged", "index": 0, "name": "pretrain", "start_step": 0, "end_step": 100, "adversarial": "none"}, now=0.0)
    for i in range(1, 11):
        st.apply(_step(i, g_pixel=1.0 / i, g_total=1.0 / i), now=i * 0.5)  # 2 steps per second of wall time
    assert st.status == "running" and st.name == "run1" and st.step == 10
    assert st.rate() == pytest.approx(2.0)
    assert st.eta_seconds() == pytest.approx(45.0)
    assert list(st.history.get("g_pixel").y) == pytest.approx([1.0 / i for i in range(1, 11)])
    st.apply({"event": "Validation", "step": 10, "phase": "pretrain", "dataset": "val", "psnr": "nan", "ssim": 0.7,
              "bicubic_psnr": 25.0, "bicubic_ssim": 0.69, "best_psnr": 26.0, "is_best": True, "seconds": 0.1})
    assert np.isnan(st.history.get("psnr").y[0]) and st.history.bicubic_psnr == 25.0
    st.apply({"event": "Paused", "step": 10}, now=100.0)
    assert st.status == "paused" and st.eta_seconds() is None
    st.apply({"event": "Resumed", "step": 10}, now=500.0)  # the pause must not slow the ETA down
    st.apply(_step(11), now=500.5)
    assert st.rate() == pytest.approx(2.0)
    st.apply({"event": "Finished", "step": 11, "total_steps": 100, "stopped": True, "run_dir": "/x/run1", "seconds": 9.0})
    assert st.status == "stopped" and not st.active and st.eta_seconds() is None


def test_state_from_a_log_without_an_end_is_interrupted():
    records = [_step(i, g_pixel=0.5) for i in (1, 2, 3)]
    assert state_from_records("/r", records).status == "interrupted"
    records.append({"event": "Error", "message": "boom", "exc_type": "RuntimeError", "step": 3})
    assert state_from_records("/r", records).status == "failed"


@pytest.mark.parametrize("seconds, text", [(None, "—"), (12, "12 s"), (600, "10 min"), (3 * 3600 + 300, "3 h 05 min"),
                                           (50 * 3600, "2 d 2 h")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def _fake_run(root, name, records, checkpoints=(), models=()):
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text('recipe = "quick"\n[[phases]]\nname = "a"\niterations = 30\n[[phases]]\nname = "b"\niterations = 20\n')
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"event": "TrainSt')  # torn last line
    for step in checkpoints:
        (run / "checkpoints" / f"step_{step:09d}.pt").write_bytes(b"x")
    for m in models:
        (run / f"{m}.safetensors").write_bytes(b"x")
    return run


def test_runs_are_listed_with_status_progress_and_resumability(tmp_path):
    started = {"event": "RunStarted", "total_steps": 50}
    _fake_run(tmp_path, "done", [started, _step(50), {"event": "Validation", "step": 50, "best_psnr": 27.5},
                                 {"event": "Finished", "step": 50, "stopped": False, "best_psnr": 27.5}], [50], ["quick_x4"])
    _fake_run(tmp_path, "killed", [started, _step(1), _step(2), _step(3)], [2])
    # A phase's time limit ended this one at step 7 of 50: not "finished" (issue 18 point 3).
    _fake_run(tmp_path, "timed", [started, _step(7), {"event": "Finished", "step": 7, "total_steps": 50, "stopped": False}], [7])
    _fake_run(tmp_path, "failed", [started, _step(1), {"event": "Error", "message": "CUDA out of memory", "step": 1}])
    _fake_run(tmp_path, "live", [started, _step(1)], [])
    (tmp_path / "not-a-run").mkdir()
    runs = {r.name: r for r in list_runs(tmp_path, active=[tmp_path / "live"])}
    assert set(runs) == {"done", "killed", "failed", "live", "timed"}
    t = runs["timed"]
    assert (t.status, t.step, t.total_steps, t.resumable) == ("time_limit", 7, 50, False)
    assert runs["done"].status == "finished" and not runs["done"].resumable and runs["done"].best_psnr == 27.5
    assert [p.name for p in runs["done"].models] == ["quick_x4.safetensors"]
    k = runs["killed"]
    assert (k.status, k.step, k.total_steps, k.checkpoint_step, k.resumable) == ("interrupted", 3, 50, 2, True)
    assert runs["failed"].status == "failed" and "out of memory" in runs["failed"].message and not runs["failed"].resumable
    assert runs["live"].status == "running" and not runs["live"].resumable
    assert read_run(tmp_path / "killed").resumable


def test_delete_run_removes_links_not_the_images_and_refuses_other_folders(tmp_path):
    images = make_images(tmp_path / "photos", n=4, size=(20, 20))
    run = _fake_run(tmp_path / "runs", "r", [])
    # Runs made before data.holdout linked their split into RUN/data/{train,val}.
    (run / "data" / "val").mkdir(parents=True)
    (run / "data" / "val" / "img00.png").symlink_to(images / "img00.png")
    delete_run(run)
    assert not run.exists() and len(list(images.iterdir())) == 4
    with pytest.raises(ValueError, match="not a training run"):
        delete_run(images)


def test_holdout_choice_is_spread_and_leaves_training_images():
    files = [f"f{i}" for i in range(10)]
    assert choose_holdout(files, 3) == ["f1", "f5", "f8"]
    assert len(choose_holdout(files[:2], 5)) == 1  # never all of them


def test_scan_reports_sizes_unreadable_and_small_images(tmp_path):
    folder = make_images(tmp_path / "data", n=3, size=(64, 48))
    make_images(folder / "sub", n=1, size=(20, 20), seed=2)
    (folder / "broken.png").write_bytes(b"not an image")
    events = list(scan_training_folder(folder, thumbnails=2))
    assert isinstance(events[0], ScanProgress) and events[0].total == 5
    assert sum(isinstance(e, Thumbnail) for e in events) == 2
    report = events[-1]
    assert isinstance(report, DataReport) and len(report.sizes) == 4
    assert [p.name for p, _ in report.unreadable] == ["broken.png"]
    assert [p.parent.name for p in report.too_small(32)] == ["sub"] and report.usable(32) == 3
    assert report.usable(64) == 0 and "smaller than the 64×64 crop" in report.summary(64)
    pairs = preview_pairs(report.samples, 32, 4)
    assert pairs[0].hr.shape == (32, 32, 3) and pairs[0].lr.shape == (8, 8, 3)


def test_error_advice_offers_actions_a_user_can_take():
    oom = advise("CUDA out of memory. Tried to allocate 2 GiB", "OutOfMemoryError",
                 _Cfg(batch_size=16, crop=96, scale=4), resumable=True)
    assert oom.kind == "oom" and [a.name for a in oom.actions] == ["retry_batch", "retry_crop"]
    assert "batch 8" in oom.actions[0].label and "72×72" in oom.actions[1].label
    nan = advise("the loss or gradients were NaN/inf for 20 consecutive steps", "NonFiniteLoss", resumable=True)
    assert nan.kind == "nan" and nan.actions[0].name == "retry_lr"
    disk = advise("[Errno 28] No space left on device: '/runs/x/checkpoints'", "OSError", resumable=True)
    assert disk.kind == "disk" and disk.actions[0].name == "resume"
    data = advise("/photos: training folder not found", "DataError")
    assert data.kind == "data" and "new_run" in [a.name for a in data.actions]
    vgg = advise("VGG19 ImageNet weights not available (...)", "VGGWeightsMissing")
    assert vgg.actions[0].name == "pixel_loss"


class _Cfg:
    def __init__(self, **data):
        self.data = type("D", (), data)()


def test_runs_listing_reads_only_the_tail_of_a_long_log(tmp_path):
    run = _fake_run(tmp_path, "long", [{"event": "RunStarted", "total_steps": 50}] + [_step(i) for i in range(1, 4000)])
    assert os.path.getsize(run / "metrics.jsonl") > 300_000
    info = read_run(run)
    assert info.status == "interrupted" and info.step == 3999


def test_a_drafts_holdout_is_the_trainers_data_holdout(tmp_path):
    from trainer.train.support.config_draft import ConfigDraft

    folder = make_images(tmp_path / "photos", n=4, size=(20, 20))
    draft = ConfigDraft()
    draft.set("data.train_dir", str(folder))
    draft.val_mode, draft.holdout = "holdout", 2
    config = draft.build()
    assert (config.data.holdout, config.data.val_dir, config.data.train_dir) == (2, "", str(folder))
    again = ConfigDraft.from_config(config)
    assert (again.val_mode, again.holdout) == ("holdout", 2) and again.build() == config
    draft.val_mode = "none"
    assert draft.build().data.holdout == 0


def test_srgan_train_lists_the_runs_as_the_app_does(tmp_path, capsys):
    from trainer.cli.train import main

    started = {"event": "RunStarted", "total_steps": 50}
    _fake_run(tmp_path, "killed", [started, _step(1), _step(2), _step(3)], [2])
    # A phase's time limit ended this one at step 7 of 50: not "finished" (issue 18 point 3).
    _fake_run(tmp_path, "timed", [started, _step(7), {"event": "Finished", "step": 7, "total_steps": 50, "stopped": False}], [7])
    assert main(["--list-runs", str(tmp_path)]) == 0
    assert sorted(capsys.readouterr().out.splitlines()) == [
        f"killed: interrupted, step 3/50; resume with --resume {tmp_path / 'killed'}", "timed: ended by time limit, step 7/50"]
    assert main(["--list-runs", str(tmp_path / "none")]) == 0
    assert "no runs in" in capsys.readouterr().out
