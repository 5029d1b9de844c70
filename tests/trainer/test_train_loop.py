"""The training loop end to end on tiny models: events, logs, export, control, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_train_support import collect, gan_overrides, make_images, of_type, tiny_config

from trainer.train import TrainingControl, train
from trainer.train.checkpoint import list_checkpoints, load_checkpoint


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {"train": make_images(root / "train", n=6), "val": make_images(root / "val", n=2, size=(32, 36), seed=5)}


def test_run_yields_events_logs_and_exports_a_loadable_model(data, tmp_path):
    from trainer.modelfile import load_model

    cfg = tiny_config(data["train"], **{"data.val_dir": str(data["val"]), "runtime.val_interval": 2, "runtime.checkpoint_interval": 2})
    events = collect(train(cfg, tmp_path / "run"))
    names = [type(e).__name__ for e in events]
    assert names[0] == "RunStarted" and names[1] == "PhaseChanged" and names[-1] == "Finished"
    steps = of_type(events, "TrainStep")
    assert [e.step for e in steps] == [1, 2, 3, 4]
    assert all(set(e.losses) >= {"g_pixel", "g_total"} and e.lr > 0 and e.steps_per_second > 0 for e in steps)
    assert 0.0 <= steps[-1].data_fraction < 1.0
    vals = of_type(events, "Validation")
    assert [v.step for v in vals] == [2, 4]
    v = vals[-1]
    assert v.dataset == "val" and set(v.per_image) == {"img00.png", "img01.png"}
    assert v.bicubic_psnr > 20 and v.samples and v.samples[0].sr.shape == v.samples[0].hr.shape
    assert v.samples[0].lr.shape[0] * 4 == v.samples[0].hr.shape[0]
    (exported,) = of_type(events, "ModelExported")
    finished = events[-1]
    assert finished.step == 4 and not finished.stopped and finished.exported == (exported.path,)

    run = tmp_path / "run"
    assert (run / "config.toml").is_file()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["event"] == "TrainStep"] == [1, 2, 3, 4]
    assert any(r["event"] == "Validation" and "samples" not in r for r in records)
    model = load_model(exported.path)
    meta = model.metadata
    assert model.arch == "srresnet" and model.hparams["bicubic_skip"] is True
    assert meta["recipe"] == "quick" and meta["ema"] is True and meta["steps"] == 4
    assert meta["trained_on"] == {"folder": "train", "path": str(data["train"]), "images": 6}
    assert meta["metrics"]["psnr"] == pytest.approx(v.psnr) and meta["config"]["data"]["crop"] == 16
    card = (run / "quick_x4.md").read_text()
    assert "quick" in card and "PSNR" in card
    # The exported weights are the EMA weights (the ones validated), not the raw generator.
    state = load_checkpoint(list_checkpoints(run)[-1][1])
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, state["ema"]["module"][key])


def _run_until(cfg, run_dir, stop_at=None, resume=False, on_step=None):
    control = TrainingControl()
    events = []
    for ev in train(cfg, run_dir, control=control, resume=resume):
        if type(ev).__name__ == "Error":
            raise AssertionError(ev.message + ev.traceback)
        events.append(ev)
        if type(ev).__name__ == "TrainStep" and ev.step == stop_at:
            control.stop()
    return events


@pytest.mark.parametrize("stop_at", [2, 5])
def test_resume_gives_bitwise_the_same_weights(data, tmp_path, stop_at):
    """N steps straight == stop after k, resume, finish (GAN phase with a WGAN-GP critic: RNG in the step)."""
    cfg = tiny_config(data["train"], "wdrn-wgan", **gan_overrides(), **{"phases.*.iterations": 4, "runtime.checkpoint_interval": 3})
    straight = _run_until(cfg, tmp_path / "a")
    first = _run_until(cfg, tmp_path / "b", stop_at=stop_at)
    assert first[-1].stopped and first[-1].step == stop_at
    assert of_type(first, "CheckpointSaved")[-1].reason == "stop"
    second = _run_until(cfg, tmp_path / "b", resume=True)
    started = of_type(second, "RunStarted")[0]
    assert started.resumed and started.start_step == stop_at
    assert second[-1].step == straight[-1].step == 8 and not second[-1].stopped
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "step_000000008.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "step_000000008.pt")
    for part in ("generator", "discriminator"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs"
    for key in a["ema"]["module"]:
        assert torch.equal(a["ema"]["module"][key], b["ema"]["module"][key]), f"ema.{key} differs"
    for opt in ("opt_g", "opt_d"):
        sa, sb = a["stepper"][opt]["state"], b["stepper"][opt]["state"]
        assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    # The losses logged after the resume match the straight run's.
    tail = {e.step: e.losses for e in of_type(straight, "TrainStep") if e.step > stop_at}
    assert {e.step: e.losses for e in of_type(second, "TrainStep")} == tail


def test_pause_save_now_and_stop(data, tmp_path):
    cfg = tiny_config(data["train"], **{"phases.*.iterations": 50})
    control = TrainingControl()
    seen = []
    for ev in train(cfg, tmp_path / "run", control=control):
        name = type(ev).__name__
        seen.append(name)
        if name == "TrainStep" and ev.step == 1:
            control.pause()
            control.save_now()
        elif name == "Paused":
            assert control.wait_while_paused(timeout=0.01) is False  # it really waits
            control.resume()
        elif name == "TrainStep" and ev.step == 3:
            control.stop()
    assert seen.index("Paused") == seen.index("TrainStep") + 1
    assert seen[seen.index("Paused") + 1] == "Resumed"
    assert seen[-1] == "Finished"
    assert [p.name for _, p in list_checkpoints(tmp_path / "run")] == ["step_000000001.pt", "step_000000003.pt"]
    assert (tmp_path / "run" / "quick_x4.safetensors").is_file()  # exported on stop (marked incomplete)
    from trainer.modelfile import read_metadata

    assert read_metadata(tmp_path / "run" / "quick_x4.safetensors")["complete"] is False


def test_keeps_last_k_and_best_and_skips_a_damaged_newest_checkpoint(data, tmp_path):
    cfg = tiny_config(data["train"], **{"data.val_dir": str(data["val"]), "runtime.val_interval": 1,
                                         "runtime.checkpoint_interval": 1, "runtime.keep_last": 2, "phases.*.iterations": 5})
    events = collect(train(cfg, tmp_path / "run"))
    ckpts = list_checkpoints(tmp_path / "run")
    assert [s for s, _ in ckpts] == [4, 5]
    best_step = max(of_type(events, "Validation"), key=lambda v: v.psnr).step
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["step"] == best_step
    # A damaged newest file: resume falls back to the one before, with a notice.
    ckpts[-1][1].write_bytes(b"garbage")
    cfg_more = tiny_config(data["train"], **{"phases.*.iterations": 5})
    resumed = collect(train(cfg_more, tmp_path / "run", resume=True))
    assert any("unusable checkpoint" in n.message for n in of_type(resumed, "Notice"))
    assert of_type(resumed, "RunStarted")[0].start_step == 4 and resumed[-1].step == 5


def test_refuses_to_overwrite_an_existing_run(data, tmp_path):
    cfg = tiny_config(data["train"], **{"phases.*.iterations": 1})
    collect(train(cfg, tmp_path / "run"))
    errors = of_type(list(train(cfg, tmp_path / "run")), "Error")
    assert errors and errors[0].exc_type == "FileExistsError" and "--resume" in errors[0].message


def test_time_limit_ends_the_phase_and_still_exports(data, tmp_path):
    cfg = tiny_config(data["train"], **{"phases.*.iterations": 1000, "phases.*.time_limit_s": 1e-6})
    events = collect(train(cfg, tmp_path / "run"))
    assert events[-1].step < 1000 and not events[-1].stopped
    assert any("time limit" in n.message for n in of_type(events, "Notice"))
    assert of_type(events, "ModelExported")


def test_two_phase_run_starts_phase_two_from_phase_one_ema(data, tmp_path):
    cfg = tiny_config(data["train"], "srgan", **gan_overrides(), **{"phases.*.iterations": 2})
    events = collect(train(cfg, tmp_path / "run"))
    phases = of_type(events, "PhaseChanged")
    assert [(p.name, p.start_step, p.end_step) for p in phases] == [("pretrain", 0, 2), ("gan", 2, 4)]
    assert [e.phase for e in of_type(events, "ModelExported")] == ["pretrain", "gan"]
    gan_steps = [e for e in of_type(events, "TrainStep") if e.phase == "gan"]
    assert all({"g_content", "g_adversarial", "d_real", "d_fake"} <= set(e.losses) for e in gan_steps)
    assert any("UNTRAINED VGG19" in n.message for n in of_type(events, "Notice"))
    assert (tmp_path / "run" / "srgan_x4_pretrain.safetensors").is_file() and (tmp_path / "run" / "srgan_x4.safetensors").is_file()


def test_init_weights_start_a_gan_phase_with_pretraining_skipped(data, tmp_path):
    from trainer.modelfile import load_model

    collect(train(tiny_config(data["train"], **{"phases.*.iterations": 2}), tmp_path / "q"))
    source = tmp_path / "q" / "quick_x4.safetensors"
    overrides = {**gan_overrides(), "model.init_weights": str(source), "phases.pretrain.iterations": 0,
                 "phases.gan.iterations": 2, "phases.gan.optimizer.lr": 1e-30}
    mismatch = of_type(list(train(tiny_config(data["train"], "srgan-mse", **overrides), tmp_path / "bad")), "Error")
    assert mismatch and "bicubic_skip" in mismatch[0].message and str(source) in mismatch[0].message

    cfg = tiny_config(data["train"], "srgan-mse", **overrides, **{"model.bicubic_skip": True})
    events = collect(train(cfg, tmp_path / "gan"))
    assert [p.name for p in of_type(events, "PhaseChanged")] == ["gan"]
    assert any("pretrain skipped" in n.message for n in of_type(events, "Notice"))
    before, after = load_model(source).module.state_dict(), load_model(tmp_path / "gan" / "srgan-mse_x4.safetensors").module.state_dict()
    for key, value in before.items():
        if key.endswith("weight") and value.ndim == 4:  # convolutions: untouched at lr 1e-30
            assert torch.allclose(value, after[key], atol=1e-6), key


def test_resume_with_more_iterations_extends_a_finished_phase(data, tmp_path):
    collect(train(tiny_config(data["train"], **{"phases.*.iterations": 2}), tmp_path / "run"))
    events = collect(train(tiny_config(data["train"], **{"phases.*.iterations": 4}), tmp_path / "run", resume=True))
    assert of_type(events, "PhaseChanged")[0].resumed and events[-1].step == 4
    assert [e.step for e in of_type(events, "TrainStep")] == [3, 4]


def test_export_checkpoint_script_writes_a_checkpoints_ema_or_raw_generator(data, tmp_path, load_file_module):
    from trainer.modelfile import load_model

    script = load_file_module("scripts/export_checkpoint.py")
    cfg = tiny_config(data["train"], **{"data.val_dir": str(data["val"]), "runtime.val_interval": 2, "runtime.checkpoint_interval": 2})
    collect(train(cfg, tmp_path / "run"))
    step2 = dict(list_checkpoints(tmp_path / "run"))[2]
    state = load_checkpoint(step2)
    for raw, key in ((False, "ema"), (True, "generator")):
        out = tmp_path / f"{key}.safetensors"
        assert script.main([str(step2), "-o", str(out)] + (["--raw"] if raw else [])) == 0
        model = load_model(out)
        expected = state["ema"]["module"] if key == "ema" else state["generator"]
        assert all(torch.equal(v, expected[k]) for k, v in model.module.state_dict().items())
        assert model.metadata["steps"] == 2 and model.metadata["ema"] is (not raw)
        assert model.metadata["metrics"]["psnr"] == pytest.approx(state["metrics"]["psnr"])
        # The one checkpoint export (trainer.train.export.export_checkpoint, also the app's snapshot):
        # the run's config from the checkpoint, a model card next to the file.
        assert model.metadata["exported_from"] == step2.name and model.metadata["complete"] is False
        assert model.metadata["config"]["recipe"] == cfg.recipe and out.with_suffix(".md").is_file()
        # The card says what the run's own export says: the images and the device, from the checkpoint.
        n = len(list(Path(data["train"]).iterdir()))
        assert model.metadata["trained_on"]["images"] == n and model.metadata["device"] == state["device"] != "?"
        assert f"({n} images)" in out.with_suffix(".md").read_text(encoding="utf-8")
    # A checkpoint from before the data were recorded: the card says so instead of "None images".
    old = {k: v for k, v in state.items() if k not in ("device", "trained_on")}
    torch.save(old, tmp_path / "old.pt")
    assert script.main([str(tmp_path / "old.pt"), "-o", str(tmp_path / "old.safetensors")]) == 0
    card = (tmp_path / "old.md").read_text(encoding="utf-8")
    assert "image count not recorded" in card and "None" not in card and "on ?" in card
    from trainer.cli.train import main as srgan_train

    out = tmp_path / "cli.safetensors"
    assert srgan_train(["--export-checkpoint", str(step2), "--out", str(out)]) == 0
    assert all(torch.equal(v, state["ema"]["module"][k]) for k, v in load_model(out).module.state_dict().items())
    assert srgan_train(["--export-checkpoint", str(step2)]) == 2  # no --out
