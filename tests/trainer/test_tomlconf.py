"""The TOML writer (tomli_w, issue 16 item 7): header comment, table layout, values that round-trip."""

from __future__ import annotations

import tomllib

from trainer.config import list_recipes, load_recipe, loads, to_toml
from trainer.tomlconf import dumps


def test_dumps_round_trips_with_the_header():
    data = {
        "name": 'say "hi" — ünïcode\\path',
        "ratio": 0.1, "big": float("inf"), "flag": True, "sizes": (7, 9), "empty": [],
        "model": {"arch": "srresnet", "hparams": {"num_blocks": 2, "bicubic_skip": False}},
        "phases": [{"name": "a", "iterations": 3, "optimizer": {"lr": 1e-4}}, {"name": "b", "iterations": 5,
                                                                                   "optimizer": {"lr": 2e-4}}],
    }
    text = dumps(data, "# a header")
    assert text.startswith("# a header\n")
    assert "[model.hparams]" in text
    back = tomllib.loads(text)
    assert back == {**data, "sizes": [7, 9]}
    # Plain values before the tables, in the dict's order.
    assert text.index("name =") < text.index("ratio =") < text.index("[model]")


def test_a_config_keeps_its_phases_as_arrays_of_tables():
    """A phase holds its losses and optimizer: never squeezed into one inline line."""
    text = to_toml(load_recipe("srgan"))
    assert text.count("[[phases]]") == 2 and "[phases.optimizer]" in text and "[phases.adversarial]" in text


def test_every_recipe_round_trips_and_keeps_its_phase_layout():
    for name in list_recipes():
        config = load_recipe(name)
        text = to_toml(config)
        assert loads(text) == config, name
        assert text.splitlines()[0].startswith("# SRGAN Desktop training configuration")
        assert text.count("[[phases]]") == len(config.phases), name
