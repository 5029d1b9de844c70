"""scripts/ship_model.py: the model card's "Content loss" line says what the training used."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/ship_model.py")


def _phase(name, iterations, content_type="none", weight=0.006, pixel="l1"):
    return {"name": name, "iterations": iterations, "pixel": {"type": pixel},
            "content": {"type": content_type, "weight": weight, "layers": ["relu5_4"], "criterion": "mse"}}


def test_a_shippers_text_wins(script):
    assert script.content_loss_text({"content_loss": "none: MSE", "config": {"phases": [_phase("gan", 5, "vgg19")]}}) == "none: MSE"


def test_pixel_only_training_says_none(script):
    meta = {"config": {"phases": [_phase("pretrain", 4000), _phase("gan", 0, "vgg19")]}}  # the VGG phase never ran
    assert script.content_loss_text(meta).startswith("none: L1 pixel loss only")


def test_a_vgg_phase_that_ran_is_named_with_its_layers_and_weight(script):
    meta = {"config": {"phases": [_phase("pretrain", 10, pixel="mse"), _phase("gan", 20, "vgg19")]}}
    assert script.content_loss_text(meta) == "gan: vgg19 relu5_4 (mse, weight 0.006)"


def test_no_configuration_is_said_plainly(script):
    assert script.content_loss_text({}) == "not recorded in the model file"
