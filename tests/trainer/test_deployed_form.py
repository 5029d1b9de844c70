"""Validating the form a GAN ships in (``runtime.val_blend``): the blend with the PSNR model, notched."""

from __future__ import annotations

import json

import pytest
import torch
from test_train_support import collect, make_images, of_type, tiny_config

from trainer import modelfile
from trainer.config import ConfigError, apply_overrides
from trainer.interpolate import interpolate, with_lattice_notch
from trainer.train import train
from trainer.train.setup import build_generator, describe_generator


@pytest.fixture()
def setup(tmp_path):
    """Six images (two held out), a tiny srgan-dfm config and its PSNR model (the GAN's start)."""
    data = make_images(tmp_path / "train", n=6, size=(48, 48))
    cfg = tiny_config(data, "srgan-dfm", **{"phases.pretrain.iterations": 0, "phases.gan.iterations": 3,
                                             "phases.gan.discriminator.channels": 4, "data.holdout": 2,
                                             "runtime.val_interval": 3})
    torch.manual_seed(1)
    reference = modelfile.save_model(describe_generator(cfg, build_generator(cfg)), tmp_path / "psnr.safetensors")
    cfg = apply_overrides(cfg, [f"model.init_weights='{reference}'", f"runtime.val_blend='{reference}'"])
    return cfg, reference


def _last_validation(events):
    vals = of_type(events, "Validation")
    assert vals, "the run validated"
    return vals[-1]


def test_the_blend_is_measured_next_to_the_raw_generator_and_logged(setup, tmp_path):
    cfg, reference = setup
    run = tmp_path / "run"
    events = collect(train(apply_overrides(cfg, ["runtime.val_blend_alpha=0.5", "runtime.val_blend_notch=16"]), run))
    v = _last_validation(events)
    assert v.blend is not None and v.blend.label == "blend 0.5 with psnr, notch 16"
    # The same figure from the pieces: the exported EMA generator, blended by hand, on the same images.
    from trainer.train.validation import Validator
    from trainer.train.holdout import choose_holdout

    exported = modelfile.load_model(next(run.glob("*.safetensors")))
    ref = modelfile.load_model(reference)
    mixed = with_lattice_notch(interpolate(ref, exported, 0.5), ref, 16)
    files = choose_holdout(sorted((tmp_path / "train").iterdir()), 2)
    assert sorted(f.name for f in files) == sorted(v.per_image)  # the trainer's hold-out
    by_hand = Validator(tmp_path / "train", scale=4, files=files).run(mixed.module, torch.device("cpu"))
    assert v.blend.psnr == pytest.approx(by_hand[0], abs=1e-4) and v.blend.ssim == pytest.approx(by_hand[1], abs=1e-5)
    assert v.blend.psnr != pytest.approx(v.psnr, abs=1e-3)  # not the raw generator's figure
    # The log and the monitor (the app's plots) have it; best_psnr stays the raw generator's.
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if r["event"] == "Validation"][-1]
    assert logged["blend"]["psnr"] == pytest.approx(v.blend.psnr) and logged["best_psnr"] == pytest.approx(v.best_psnr)
    assert v.best_psnr == pytest.approx(max(x.psnr for x in of_type(events, "Validation")))
    card = next(run.glob("*.md")).read_text()
    assert f"| holdout, as shipped (blend 0.5 with psnr, notch 16) | {v.blend.psnr:.2f} |" in card
    from trainer.train.support.run_state import MonitorState

    state = MonitorState()
    for r in records:
        state.apply(r)
    assert list(state.history.get("blend_psnr").y) == pytest.approx([x.blend.psnr for x in of_type(events, "Validation")])


def test_alpha_one_without_notch_is_the_raw_generator_and_training_is_untouched(setup, tmp_path):
    cfg, _ = setup
    every = {"runtime.val_interval": 1, "runtime.checkpoint_interval": 3}
    v = _last_validation(collect(train(apply_overrides(cfg, ["runtime.val_blend_alpha=1.0"]), tmp_path / "a")))
    assert v.blend.label == "blend 1 with psnr" and v.blend.psnr == pytest.approx(v.psnr, abs=1e-4)
    # Validating the notched blend at every step leaves the run's weights exactly as without it.
    plain = apply_overrides(cfg, ["runtime.val_blend=''", *(f"{k}={v}" for k, v in every.items())])
    collect(train(plain, tmp_path / "plain"))
    collect(train(apply_overrides(plain, [f"runtime.val_blend='{cfg.runtime.val_blend}'", "runtime.val_blend_notch=16"]),
                  tmp_path / "blend"))
    from trainer.train.checkpoint import load_checkpoint

    a, b = (load_checkpoint(tmp_path / r / "checkpoints" / "step_000000003.pt") for r in ("plain", "blend"))
    for part in ("generator", "discriminator"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs"


def test_a_missing_or_different_reference_stops_the_run_with_the_file_named(setup, tmp_path):
    cfg, _ = setup
    missing = tmp_path / "nowhere.safetensors"
    errors = of_type(list(train(apply_overrides(cfg, [f"runtime.val_blend='{missing}'"]), tmp_path / "a")), "Error")
    assert errors and str(missing) in errors[0].message and "runtime.val_blend" in errors[0].message
    wide_cfg = apply_overrides(cfg, ["model.channels=16", "model.init_weights=''"])
    wide = modelfile.save_model(describe_generator(wide_cfg, build_generator(wide_cfg)), tmp_path / "wide.safetensors")
    errors = of_type(list(train(apply_overrides(cfg, [f"runtime.val_blend='{wide}'"]), tmp_path / "b")), "Error")
    assert errors and "same network" in errors[0].message and str(wide) in errors[0].message


def test_config_rules(setup):
    cfg, _ = setup
    with pytest.raises(ConfigError) as err:
        apply_overrides(cfg, ["runtime.val_blend_alpha=0"])
    assert err.value.field == "runtime.val_blend_alpha"
    with pytest.raises(ConfigError) as err:
        apply_overrides(cfg, ["runtime.val_blend=''", "runtime.val_blend_notch=16"])
    assert err.value.field == "runtime.val_blend_notch"
    with pytest.raises(ConfigError):
        apply_overrides(cfg, ["runtime.val_blend_alpha=1.5"])


def test_the_checkpoint_script_reproduces_the_runs_own_figures(setup, tmp_path, load_file_module, capsys):
    cfg, reference = setup
    run = tmp_path / "run"
    events = collect(train(apply_overrides(cfg, ["runtime.val_blend_alpha=0.6", "runtime.val_blend_notch=16",
                                                 "runtime.checkpoint_interval=3"]), run))
    v = _last_validation(events)
    script = load_file_module("scripts/deployed_checkpoints.py")
    bench = make_images(tmp_path / "bench", n=2, size=(48, 64), seed=5)
    out = tmp_path / "rows.json"
    assert script.main([str(run / "checkpoints" / "step_000000003.pt"), "--reference", str(reference), "--alpha", "0.6",
                        "--notch", "16", "--sets", str(bench), "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["step"] == 3 and row["raw"]["psnr"] == pytest.approx(v.psnr, abs=1e-6)
    assert row["deployed"]["psnr"] == pytest.approx(v.blend.psnr, abs=1e-6)  # what the trainer logged at that step
    s = row["sets"]["bench"]
    assert s["psnr"] > 10 and s["bicubic_psnr"] > 10
    printed = capsys.readouterr().out
    floor = row["bicubic_psnr"] + 1.0
    assert f"(floor {floor:.3f})" in printed and ("UNDER" in printed.split(";")[0]) == (row["deployed"]["psnr"] < floor)
