"""What a training run folder holds, by name (standard library only).

``RUN/config.toml`` (the config as run), ``RUN/metrics.jsonl`` (one JSON record per event),
``RUN/checkpoints/step_<n>.pt`` (the last few) and ``RUN/checkpoints/best.pt``. The trainer writes
them (:mod:`trainer.train.loop`, :mod:`trainer.train.runlog`, :mod:`trainer.train.checkpoint`); the
runs list (:mod:`trainer.train.support.runs`) and the app read them with these same names.
"""

from __future__ import annotations

import re

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
BEST_NAME = "best.pt"
STEP_RE = re.compile(r"^step_(\d+)\.pt$")


def checkpoint_name(step: int) -> str:
    """File name of the checkpoint of ``step`` (matches :data:`STEP_RE`)."""
    return f"step_{step:09d}.pt"
