"""Helpers shared by the training tests (no tests here): tiny images, tiny configs, event runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from trainer.config import TrainingConfig, apply_overrides, load_recipe


def make_images(folder: Path, n: int = 6, size: tuple[int, int] = (40, 48), seed: int = 0) -> Path:
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


def tiny_config(train_dir: Path, recipe: str = "quick", **overrides: Any) -> TrainingConfig:
    """``recipe`` shrunk to a 1-block, 8-channel generator on 16x16 crops, batch 4, no validation."""
    base = {
        "data.train_dir": str(train_dir),
        "data.crop": 16,
        "data.batch_size": 4,
        "data.val_dir": "",
        "model.num_blocks": 1,
        "model.channels": 8,
        "phases.*.iterations": 4,
        "phases.*.time_limit_s": 0.0,
        "runtime.log_interval": 1,
        "runtime.val_interval": 0,
        "runtime.checkpoint_interval": 0,
        "runtime.threads": 1,
        "runtime.ema_decay": 0.9,
        "runtime.device": "cpu",
    }
    if recipe != "quick":
        base["runtime.seed"] = 3
    base.update(overrides)
    return apply_overrides(load_recipe(recipe), base)


def gan_overrides() -> dict[str, Any]:
    """Settings that make a GAN recipe tiny and offline (random VGG weights, 4-channel discriminator)."""
    return {
        "phases.gan.discriminator.channels": 4,
        "phases.gan.content.vgg_weights": "random",
        "phases.gan.content.layers": ["relu2_2"],
    }


def collect(events) -> list:
    """All events of a run, failing the test on an Error event."""
    out = []
    for ev in events:
        if type(ev).__name__ == "Error":
            raise AssertionError(f"training failed: {ev.message}\n{ev.traceback}")
        out.append(ev)
    return out


def of_type(events: list, name: str) -> list:
    """The events of one class name."""
    return [e for e in events if type(e).__name__ == name]


def run_until(cfg: TrainingConfig, run_dir: Path, step: int) -> None:
    """Train ``cfg`` into ``run_dir`` and stop it after ``step`` (as the app's Stop button), failing on an Error."""
    from trainer.train import TrainingControl, train

    control = TrainingControl()
    for ev in train(cfg, run_dir, control=control):
        assert type(ev).__name__ != "Error", getattr(ev, "message", "")
        if type(ev).__name__ == "TrainStep" and ev.step == step:
            control.stop()
