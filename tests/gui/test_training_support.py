"""Helpers shared by the training GUI tests (no tests here): images, tiny configs, fake events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def make_images(folder: Path, n: int = 5, size: tuple[int, int] = (64, 64), seed: int = 0) -> Path:
    """``n`` smooth textured RGB PNGs of ``size`` (h, w) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    for i in range(n):
        chans = [127 + 100 * np.sin(x / (3 + i) + c) * np.cos(y / (4 + c + i % 3)) for c in range(3)]
        img = np.stack(chans, -1) + rng.normal(0, 4, (h, w, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"img{i:02d}.png")
    return folder


def tiny_overrides(train: Path, val: Path | None, **more: Any) -> dict[str, Any]:
    """The quick recipe shrunk to a 1-block, 8-channel generator on 16x16 crops: steps take ms."""
    out = {
        "data.train_dir": str(train),
        "data.val_dir": str(val) if val is not None else "",
        "data.crop": 16,
        "data.batch_size": 2,
        "data.sample_size": 16,
        "model.num_blocks": 1,
        "model.channels": 8,
        "phases.*.iterations": 8,
        "phases.*.time_limit_s": 0.0,
        "phases.*.optimizer.warmup_steps": 0,
        "runtime.log_interval": 1,
        "runtime.val_interval": 4,
        "runtime.checkpoint_interval": 2,
        "runtime.threads": 1,
        "runtime.ema_decay": 0.9,
        "runtime.device": "cpu",
    }
    out.update(more)
    return out


def tiny_config(train: Path, val: Path | None, recipe: str = "quick", **more: Any):  # noqa: ANN201
    """A validated tiny ``TrainingConfig``."""
    from trainer.config import apply_overrides, load_recipe

    return apply_overrides(load_recipe(recipe), tiny_overrides(train, val, **more))


def test_every_generator_term_the_step_logs_is_plotted_with_a_label():
    import re
    from pathlib import Path

    from srgan_desktop.training.plots import COLOURS, LABELS
    from trainer.train.support.run_state import GENERATOR_LOSSES

    step_src = (Path(__file__).parents[2] / "trainer" / "train" / "step.py").read_text()
    terms = set(re.findall(r'terms\["(g_[a-z]+)"\]', step_src)) | {"g_total"}
    assert terms >= {"g_pixel", "g_feature", "g_adversarial"}  # the parse found the step's terms
    assert terms <= set(GENERATOR_LOSSES) and terms <= set(LABELS) and terms <= set(COLOURS)
