"""Training configuration: recipes, TOML round trip, validation messages, overrides."""

from __future__ import annotations

import dataclasses

import pytest

from trainer.config import (
    ConfigError,
    TrainingConfig,
    apply_overrides,
    list_recipes,
    load,
    load_recipe,
    loads,
    save,
    to_toml,
)

RECIPES = ("srresnet", "srgan", "srgan-mixed", "srgan-mse", "wdrn-wgan", "srcnn", "vdsr", "quick")


def test_all_recipes_ship_and_round_trip_through_toml():
    assert set(RECIPES) <= set(list_recipes())
    for name in RECIPES:
        cfg = load_recipe(name)
        assert cfg.recipe == name
        assert loads(to_toml(cfg)) == cfg


def test_paper_recipes_hold_the_paper_settings():
    srresnet = load_recipe("srresnet")
    (p,) = srresnet.phases
    assert (srresnet.data.crop, srresnet.data.batch_size) == (96, 16)
    assert (p.pixel.type, p.optimizer.lr, p.optimizer.beta1, p.adversarial.type) == ("mse", 1e-4, 0.9, "none")
    srgan = load_recipe("srgan")
    pre, gan = srgan.phases
    assert not pre.is_gan and gan.is_gan and gan.init == "ema"
    assert gan.content.type == "vgg" and gan.content.layers == ("relu5_4",) and gan.content.weight == pytest.approx(1 / 12.75**2, rel=0.03)  # features / 12.75
    assert (gan.adversarial.type, gan.adversarial.weight) == ("vanilla", 1e-3)
    assert (gan.optimizer.lr, gan.optimizer.schedule, gan.optimizer.milestones, gan.optimizer.gamma) == (1e-4, "step", (0.5,), 0.1)
    mixed = load_recipe("srgan-mixed").phases[0]
    assert (mixed.pixel.weight, mixed.content.weight, mixed.adversarial.weight) == (1.0, 0.006, 1e-3)
    wgan = load_recipe("wdrn-wgan")
    assert wgan.model.arch == "wdrn" and wgan.phases[-1].adversarial.type == "wgan-gp"
    assert wgan.phases[-1].discriminator.hparams.get("norm") == "none"  # no BatchNorm in a GP critic
    quick = load_recipe("quick")
    assert quick.model.hparams == {"num_blocks": 4, "channels": 32, "bicubic_skip": True}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("data.crop=50", "data.crop"),
        ("data.batch_size=0", "data.batch_size"),
        ("data.degradation='nearest'", "data.degradation"),
        ("phases.0.adversarial.type='bce'", "phases[0].adversarial.type"),
        ("phases.0.optimizer.lr=-1.0", "phases[0].optimizer.lr"),
        ("phases.0.optimizer.milestones=[1.5]", "phases[0].optimizer.milestones[0]"),
        ("phases.0.pixel.weight=0", "phases[0].pixel.weight"),
        ("model.arch='nope'", "model.arch"),
        ("model.arch='srgan_d'", "model.arch"),
        ("model.hparams.blocks=3", "model.hparams.blocks"),
        ("runtime.precision='fp8'", "runtime.precision"),
        ("data.bogus=1", "data.bogus"),
        ("data.crop='big'", "data.crop"),
        ("model.hparams.num_blocks='8'", "model.hparams.num_blocks"),
        ("model.hparams.num_blocks=8.5", "model.hparams.num_blocks"),
        ("model.hparams.bicubic_skip=1", "model.hparams.bicubic_skip"),
        ("model.hparams.channels='wide'", "model.hparams.channels"),
    ],
)
def test_bad_values_are_reported_with_the_field_name(override, field):
    with pytest.raises(ConfigError) as info:
        apply_overrides(load_recipe("quick"), [override])
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_gan_phase_checks_its_discriminator():
    with pytest.raises(ConfigError, match=r"phases\[1\].discriminator.arch"):
        apply_overrides(load_recipe("srgan"), ["phases.gan.discriminator.arch='srresnet'"])


def test_overrides_by_index_name_wildcard_and_short_hparams():
    cfg = apply_overrides(
        load_recipe("srgan"),
        [
            "phases.*.iterations=10",
            "phases.gan.optimizer.lr=2e-5",
            "phases.0.pixel.type=l1",
            "model.num_blocks=8",
            "phases.gan.discriminator.channels=32",
            "data.train_dir=some/folder",
        ],
    )
    assert [p.iterations for p in cfg.phases] == [10, 10]
    assert cfg.phases[1].optimizer.lr == 2e-5 and cfg.phases[0].optimizer.lr == 1e-4
    assert cfg.phases[0].pixel.type == "l1"
    assert cfg.model.hparams["num_blocks"] == 8
    assert cfg.phases[1].discriminator.hparams["channels"] == 32
    assert cfg.data.train_dir == "some/folder"
    with pytest.raises(ConfigError, match="no phase 'nope'"):
        apply_overrides(cfg, ["phases.nope.iterations=3"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(cfg, ["data.crop"])


def test_config_is_frozen_and_saves_loads(tmp_path):
    cfg = load_recipe("srgan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.recipe = "x"  # type: ignore[misc]
    path = save(cfg, tmp_path / "run" / "config.toml")
    assert load(path) == cfg
    assert not list(path.parent.glob(".*tmp*"))  # the atomic write left nothing behind


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("recipe = [unclosed\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[data]\ncrop = 50\n")
    with pytest.raises(ConfigError, match=r"data.crop.*wrong.toml"):
        load(wrong)
    with pytest.raises(ConfigError, match="not found|cannot read"):
        load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="unknown recipe 'nope'; known: .*quick"):
        load_recipe("nope")


def test_defaults_are_a_valid_config():
    cfg = TrainingConfig()
    assert loads(to_toml(cfg)) == cfg
    assert cfg.total_steps == cfg.phases[0].iterations


def test_a_config_file_that_is_not_text_is_a_one_line_error(tmp_path):
    from trainer.config import load

    path = tmp_path / "binary.toml"
    path.write_bytes(b"recipe = \"quick\"\n\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(path) in str(err.value) and "UTF-8" in str(err.value) and "\n" not in str(err.value)
