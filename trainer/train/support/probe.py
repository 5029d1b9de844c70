"""A short speed probe: seconds per 100 steps of each phase on the chosen device (no Qt).

The probe runs the real training step (``trainer.train.train``) for a few steps per phase on a
handful of generated images in a temporary folder, so it measures the network, losses, optimiser
and device, not the disk. The first step of each phase is a warm-up (allocation, kernel selection)
and is not counted. :func:`estimate_seconds` turns the figures into the duration of the whole run.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROBE_STEPS = 6  # measured steps per phase (after the warm-up step) ...
PROBE_SECONDS = 20.0  # ... or fewer when a phase is slow


@dataclass(frozen=True)
class ProbeProgress:
    """Probing phase ``phase`` (``index`` of ``count``)."""

    phase: str
    index: int
    count: int


@dataclass(frozen=True)
class ProbeResult:
    """Measured seconds per 100 steps of each phase, on ``device``."""

    device: str
    seconds_per_100: dict[str, float]
    steps_measured: dict[str, int]


def _images(folder: Path, crop: int, n: int = 4) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    side = max(2 * crop, 64)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / f"probe{i}.png")
    return folder


def probe_speed(config: Any, *, steps: int | None = None, max_seconds: float | None = None,
                cancel: threading.Event | None = None) -> Iterator[ProbeProgress | ProbeResult]:
    """Time ``steps`` (default :data:`PROBE_STEPS`) training steps of every phase of ``config``, or
    fewer past ``max_seconds`` (default :data:`PROBE_SECONDS`); the last event is a :class:`ProbeResult`.

    Raises whatever the run would raise at start (missing VGG weights, out of memory...), as an
    exception, so the wizard can show it on the hardware page.
    """
    from trainer.config import apply_overrides
    from trainer.train import Error, RunStarted, TrainingControl, TrainStep, train

    steps = steps or PROBE_STEPS
    max_seconds = max_seconds or PROBE_SECONDS
    result: dict[str, float] = {}
    measured: dict[str, int] = {}
    device = ""
    with tempfile.TemporaryDirectory(prefix="srgan-probe-") as tmp:
        data = _images(Path(tmp) / "data", config.data.crop)
        for index, phase in enumerate(config.phases):
            yield ProbeProgress(phase.name, index, len(config.phases))
            single = dataclasses.replace(config, phases=(dataclasses.replace(phase, iterations=steps + 1, time_limit_s=0.0),))
            single = apply_overrides(single, {
                "data.train_dir": str(data), "data.val_dir": "", "data.holdout": 0, "data.lr_dir": "", "data.num_workers": 0,
                "model.init_weights": "", "runtime.log_interval": 1, "runtime.val_interval": 0,
                "runtime.checkpoint_interval": 0, "runtime.export_on_stop": False,
            })
            control = TrainingControl()
            times: list[float] = []
            start = time.perf_counter()
            for event in train(single, Path(tmp) / f"run{index}", control=control):
                if cancel is not None and cancel.is_set():
                    control.stop()
                if isinstance(event, RunStarted):
                    device = event.device
                elif isinstance(event, TrainStep):
                    if event.step > 1:  # step 1 is the warm-up
                        times.append(1.0 / event.steps_per_second if event.steps_per_second > 0 else 0.0)
                    if time.perf_counter() - start > max_seconds and times:
                        control.stop()
                elif isinstance(event, Error):
                    raise RuntimeError(event.message)
            if cancel is not None and cancel.is_set():
                return
            if not times:  # a single-step phase: count the warm-up rather than nothing
                times = [time.perf_counter() - start]
            result[phase.name] = 100.0 * float(np.median(times))
            measured[phase.name] = len(times)
    yield ProbeResult(device, result, measured)


def seconds_per_step(probe: ProbeResult) -> dict[str, float]:
    """The probe's measured seconds per step of each phase (for :func:`.estimate.estimate`)."""
    return {name: sec / 100.0 for name, sec in probe.seconds_per_100.items()}


def estimate_seconds(config: Any, probe: ProbeResult) -> float:
    """Training time of the whole run from the probe (phase time limits respected; validation,
    checkpoints and data loading add a little); see :mod:`trainer.train.support.estimate`."""
    from trainer.train.support.estimate import estimate, phase_plans

    return estimate(phase_plans(config), seconds_per_step(probe)).seconds or 0.0


def time_limited(config: Any, probe: ProbeResult) -> list[str]:
    """Phases whose time limit (``time_limit_s``) ends them before their last step."""
    from trainer.train.support.estimate import estimate, phase_plans

    return list(estimate(phase_plans(config), seconds_per_step(probe)).limited)
