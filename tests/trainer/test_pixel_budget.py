"""The PSNR budget of a GAN phase (``pixel.budget_db``): the pixel weight as a Lagrange multiplier."""

from __future__ import annotations

import json
import math

import pytest
import torch
from test_train_support import collect, make_images, of_type, run_until, tiny_config

from trainer import modelfile
from trainer.config import ConfigError, apply_overrides
from trainer.train import train
from trainer.train.budget import MAX_MULTIPLIER, PixelBudget
from trainer.train.checkpoint import load_checkpoint
from trainer.train.setup import build_generator, describe_generator


def _batch(offset_sr: float, offset_ref: float):
    """HR, and an 'LR' the identity reference turns into HR + offset_ref; SR = HR + offset_sr."""
    hr = torch.rand(2, 3, 8, 8)
    return hr + offset_ref, hr + offset_sr, hr


def test_the_gap_is_the_psnr_difference_and_the_multiplier_follows_it():
    budget = PixelBudget(torch.nn.Identity(), budget_db=1.0, rate=0.02)
    assert budget.multiplier == 1.0 and budget.gap_db == 0.0
    lr, sr, hr = _batch(0.1 * math.sqrt(2), 0.1)  # twice the reference's MSE: 3.01 dB worse
    for k in range(1, 11):
        m = budget.update(lr, sr, hr)
        assert budget.gap_db == pytest.approx(10 * math.log10(2), abs=1e-4)
        assert m == pytest.approx(math.exp(k * 0.02 * (10 * math.log10(2) - 1.0)), rel=1e-4)
    # As good as the reference again: the averaged gap decays (the multiplier rises while it is still
    # over the budget, then falls), and the multiplier comes back to 1, not below.
    lr, sr, hr = _batch(0.1, 0.1)
    history = [budget.update(lr, sr, hr) for _ in range(600)]
    assert history[-1] == 1.0 and budget.gap_db == pytest.approx(0.0, abs=0.02)
    peak = history.index(max(history))
    assert 0 < peak < 200 and all(b <= a for a, b in zip(history[peak:], history[peak + 1:]))


def test_within_budget_nothing_changes_and_the_multiplier_is_bounded():
    under = PixelBudget(torch.nn.Identity(), budget_db=1.0, rate=0.5)
    for _ in range(5):
        assert under.update(*_batch(0.11, 0.1)) == 1.0  # 0.83 dB worse: inside a 1 dB budget
    over = PixelBudget(torch.nn.Identity(), budget_db=0.1, rate=0.5)
    for _ in range(200):
        over.update(*_batch(0.5, 0.1))
    assert over.multiplier == pytest.approx(MAX_MULTIPLIER)
    before = over.state_dict()
    over.update(*_batch(float("nan"), 0.1))  # a step about to be skipped leaves the state alone
    assert over.state_dict() == before


@pytest.fixture()
def gan(tmp_path):
    """A tiny srgan-dfm run started from a bad generator, its budget measured against a good one."""
    data = make_images(tmp_path / "train", n=4, size=(40, 48))
    cfg = tiny_config(data, "srgan-dfm", **{"phases.pretrain.iterations": 0, "phases.gan.iterations": 4,
                                             "phases.gan.discriminator.channels": 4, "runtime.checkpoint_interval": 1})
    torch.manual_seed(1)
    good = build_generator(cfg)
    reference = modelfile.save_model(describe_generator(cfg, good), tmp_path / "psnr.safetensors")
    with torch.no_grad():  # a generator far worse than the reference: its residual branch blown up
        for p in good.parameters():
            p.mul_(1.5)
    start = modelfile.save_model(describe_generator(cfg, good), tmp_path / "start.safetensors")
    return apply_overrides(cfg, [f"model.init_weights='{start}'", "phases.gan.pixel.budget_db=0.5",
                                 f"phases.gan.pixel.budget_reference='{reference}'", "phases.gan.pixel.budget_rate=0.01"])


def test_a_run_over_budget_raises_the_pixel_weight_logs_it_and_resumes_exactly(gan, tmp_path):
    events = collect(train(gan, tmp_path / "a"))
    steps = of_type(events, "TrainStep")
    gaps = [e.losses["budget_gap_db"] for e in steps]
    mults = [e.losses["budget_mult"] for e in steps]
    assert all(g > 0.5 for g in gaps) and mults[0] > 1 and all(b > a for a, b in zip(mults, mults[1:]))
    logged = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["losses"]["budget_mult"] for r in logged if r["event"] == "TrainStep"] == pytest.approx(mults)
    # The budget's state travels in the checkpoint: stopped after step 2 and resumed, the run ends bit-identical.
    run_until(gan, tmp_path / "b", 2)
    resumed = of_type(collect(train(gan, tmp_path / "b", resume=True)), "TrainStep")
    assert resumed[-1].losses["budget_mult"] == mults[-1]
    a, b = (load_checkpoint(tmp_path / r / "checkpoints" / "step_000000004.pt") for r in ("a", "b"))
    assert a["stepper"]["budget"] == b["stepper"]["budget"]
    for part in ("generator", "discriminator"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs"


def test_without_a_budget_the_step_is_unchanged(gan, tmp_path):
    """Budget 0 is the plain recipe, and a budget that never binds trains exactly as the plain recipe."""
    plain = apply_overrides(gan, ["phases.gan.pixel.budget_db=0"])
    loose = apply_overrides(gan, ["phases.gan.pixel.budget_db=1000"])
    steps = of_type(collect(train(plain, tmp_path / "plain")), "TrainStep")
    assert "budget_mult" not in steps[-1].losses
    assert of_type(collect(train(loose, tmp_path / "loose")), "TrainStep")[-1].losses["budget_mult"] == 1.0
    a, b = (load_checkpoint(tmp_path / r / "checkpoints" / "step_000000004.pt") for r in ("plain", "loose"))
    for key in a["generator"]:
        assert torch.equal(a["generator"][key], b["generator"][key]), key


def test_config_rules_and_a_missing_reference_named(gan, tmp_path):
    with pytest.raises(ConfigError) as err:
        apply_overrides(gan, ["model.init_weights=''", "phases.gan.pixel.budget_reference='@init'"])
    assert err.value.field == "phases[1].pixel.budget_reference"
    with pytest.raises(ConfigError) as err:
        apply_overrides(gan, ["phases.gan.pixel.weight=0"])
    assert err.value.field == "phases[1].pixel.budget_db"
    missing = tmp_path / "nowhere.safetensors"
    errors = of_type(list(train(apply_overrides(gan, [f"phases.gan.pixel.budget_reference='{missing}'"]), tmp_path / "m")), "Error")
    assert errors and str(missing) in errors[0].message and "phases[1].pixel.budget_reference" in errors[0].message


def test_the_cli_line_shows_the_gap_and_the_factor():
    from trainer.cli.train import _fmt_losses

    line = _fmt_losses({"g_total": 0.05, "g_pixel": 0.02, "budget_mult": 1.5, "budget_gap_db": 0.612})
    assert line.endswith("psnr_gap=0.612dB pixel_x1.5") and "g_pixel=0.02" in line


def test_at_start_the_reference_is_the_phase_before_and_travels_in_the_checkpoints(tmp_path):
    """SRResNet then GAN in one run: the budget is measured against the generator the GAN phase started from."""
    data = make_images(tmp_path / "train", n=4, size=(40, 48))
    cfg = tiny_config(data, "srgan-dfm", **{"phases.pretrain.iterations": 2, "phases.gan.iterations": 3,
                                             "phases.gan.discriminator.channels": 4, "runtime.checkpoint_interval": 1,
                                             "phases.gan.pixel.budget_db": 1e-4, "runtime.keep_last": 10})
    assert cfg.phases[1].pixel.budget_reference == "@start" and not cfg.model.init_weights
    steps = of_type(collect(train(cfg, tmp_path / "a")), "TrainStep")
    assert "budget_mult" not in steps[1].losses and "budget_mult" in steps[2].losses  # the GAN phase only
    # Both on the batch's BatchNorm statistics: at the first GAN step the generator is its reference, gap 0.
    assert steps[2].losses["budget_gap_db"] == 0.0 and steps[3].losses["budget_gap_db"] != 0.0
    stored = of_type(collect(train(apply_overrides(cfg, ["phases.gan.pixel.budget_batch_stats=false"]), tmp_path / "s")), "TrainStep")
    assert abs(stored[2].losses["budget_gap_db"]) > 0.01  # the reference on its stored statistics: not the same network output
    ckpts = tmp_path / "a" / "checkpoints"
    start = load_checkpoint(ckpts / "step_000000002.pt")["ema"]["module"]  # what the GAN phase starts from
    for name in ("step_000000003.pt", "step_000000005.pt"):
        kept = load_checkpoint(ckpts / name)["stepper"]["budget"]["reference"]
        assert kept.keys() == start.keys() and all(torch.equal(kept[k], start[k]) for k in start), name
    # Stopped inside the GAN phase and resumed: the kept reference is used, and the run ends bit-identical.
    run_until(cfg, tmp_path / "b", 4)
    collect(train(cfg, tmp_path / "b", resume=True))
    a, b = (load_checkpoint(tmp_path / r / "checkpoints" / "step_000000005.pt") for r in ("a", "b"))
    assert a["stepper"]["budget"]["mse"] is not None
    assert (a["stepper"]["budget"]["mse"], a["stepper"]["budget"]["log_mult"]) == (b["stepper"]["budget"]["mse"], b["stepper"]["budget"]["log_mult"])
    for key in a["generator"]:
        assert torch.equal(a["generator"][key], b["generator"][key]), key
