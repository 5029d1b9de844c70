"""Typed events of a training run and the control object a GUI or CLI uses to steer it.

``trainer.train.train(config)`` is a generator of these frozen dataclasses; every ``yield`` sits
between optimisation steps, where the run can also be paused, stopped or told to checkpoint through
:class:`TrainingControl` (thread-safe, so a GUI thread can drive a run iterated in a worker thread).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    """The run is set up: data scanned, models built, checkpoint (if any) restored."""

    run_dir: str
    recipe: str
    device: str
    precision: str
    total_steps: int
    start_step: int
    train_images: int
    val_images: int
    world_size: int = 1
    resumed: bool = False


@dataclass(frozen=True)
class PhaseChanged:
    """A phase starts (``index`` into ``config.phases``); steps of this phase: ``start_step`` to ``end_step``."""

    index: int
    name: str
    start_step: int
    end_step: int
    adversarial: str
    resumed: bool = False


@dataclass(frozen=True)
class TrainStep:
    """Losses averaged over the last ``interval`` steps, learning rates and throughput.

    ``losses`` holds named floats (``g_pixel``, ``g_content``, ``g_adversarial``, ``g_total``,
    ``d_real``, ``d_fake``, ``d_total``, ``d_gp``...). ``data_fraction`` is the share of the wall
    time spent waiting for batches. ``skipped`` counts non-finite steps skipped so far.
    """

    step: int
    total_steps: int
    phase: str
    losses: dict[str, float]
    lr: float
    lr_d: float | None
    steps_per_second: float
    images_per_second: float
    data_fraction: float
    interval: int
    skipped: int = 0


@dataclass(frozen=True)
class SampleCrops:
    """One validation image region: LR (LR size), bicubic, SR and HR (HR size), uint8 HxWx3."""

    name: str
    lr: np.ndarray
    bicubic: np.ndarray
    sr: np.ndarray
    hr: np.ndarray


@dataclass(frozen=True)
class BlendValidation:
    """The deployed form's figures at a validation (``runtime.val_blend``, :mod:`trainer.train.deployed`)."""

    label: str  # what was measured: "blend 0.74 with srresnet_rc_x4, notch 16"
    psnr: float
    ssim: float
    niqe: float | None = None


@dataclass(frozen=True)
class Validation:
    """Protocol Y-PSNR/SSIM of the EMA generator on the validation folder (means over its images)."""

    step: int
    phase: str
    dataset: str
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float
    best_psnr: float
    is_best: bool
    seconds: float
    per_image: dict[str, tuple[float, float]] = field(default_factory=dict)
    samples: tuple[SampleCrops, ...] = ()
    niqe: float | None = None  # mean NIQE of the outputs (runtime.val_niqe), lower is better
    hr_niqe: float | None = None  # of the validation HR images, for reference
    dot_lattice: float | None = None  # mean trainer.metrics.dot_lattice of the outputs (lower: fewer dots)
    hr_dot_lattice: float | None = None  # of the validation HR images, for reference
    blend: BlendValidation | None = None  # the deployed form on the same images (runtime.val_blend)


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint was written (atomically); ``best`` when it is also the new best-PSNR checkpoint."""

    step: int
    path: str
    best: bool = False
    reason: str = "interval"


@dataclass(frozen=True)
class ModelExported:
    """A model file (safetensors + metadata) and its model card were written."""

    step: int
    phase: str
    path: str
    card: str


@dataclass(frozen=True)
class Notice:
    """Something the user should know that does not stop the run (skipped images, random VGG...)."""

    message: str
    level: str = "warning"


@dataclass(frozen=True)
class Paused:
    """The run is paused after ``step`` steps (waiting for resume or stop)."""

    step: int


@dataclass(frozen=True)
class Resumed:
    """The run continues after a pause."""

    step: int


@dataclass(frozen=True)
class Finished:
    """The run ended: completed (``stopped`` False) or stopped on request/time limit."""

    step: int
    total_steps: int
    stopped: bool
    run_dir: str
    seconds: float
    exported: tuple[str, ...] = ()
    best_psnr: float | None = None
    last_checkpoint: str | None = None


@dataclass(frozen=True)
class Error:
    """The run failed; ``message`` is what to show, ``exc_type`` the exception class name."""

    message: str
    exc_type: str
    step: int = 0
    traceback: str = ""


Event = RunStarted | PhaseChanged | TrainStep | Validation | CheckpointSaved | ModelExported | Notice | Paused | Resumed | Finished | Error


def event_record(event: Any) -> dict[str, Any]:
    """JSON-ready dict of an event (``{"event": "TrainStep", ...}``); image arrays are left out."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for name, value in vars(event).items():
        if name in ("samples", "traceback"):
            continue
        if isinstance(value, BlendValidation):
            value = dict(vars(value))
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


class TrainingControl:
    """Thread-safe pause / resume / stop / save-now flags, checked by the loop between steps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._save = False

    def pause(self) -> None:
        """Pause after the current step (the loop yields :class:`Paused` and waits)."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        """Continue a paused run."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the current step: the loop writes a checkpoint and finishes cleanly."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def save_now(self) -> None:
        """Write a checkpoint after the current step."""
        with self._cond:
            self._save = True

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` was called."""
        with self._cond:
            return self._stop

    @property
    def paused(self) -> bool:
        """True while paused (and not stopped)."""
        with self._cond:
            return self._paused and not self._stop

    def take_save_request(self) -> bool:
        """True once per :meth:`save_now` call."""
        with self._cond:
            requested, self._save = self._save, False
            return requested

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; returns False when ``timeout`` elapsed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._paused or self._stop, timeout=timeout)
