"""Plain state objects of the training monitor: loss history and the run's live status.

The monitor's widgets never read trainer events themselves: a :class:`MonitorState` absorbs every
event (``apply``) and counts a ``version``; the widgets poll that version on a timer (4-5 Hz) and
redraw only when it changed. This keeps the GUI responsive however fast events arrive, and lets the
tests drive the widgets by feeding the state.

Events are read by class name and fields, never imported: the same code reads live events and the
records of a run's ``metrics.jsonl`` (dicts with an ``"event"`` key), so a past or resumed run
shows its whole history. Nothing here imports Qt or torch.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trainer.train.support.estimate import TIME_LIMIT_NOTICE, Estimate, PhasePlan, ending_text, estimate

GENERATOR_LOSSES = ("g_total", "g_pixel", "g_lattice", "g_phase", "g_content", "g_feature", "g_adversarial")
DISCRIMINATOR_LOSSES = ("d_total", "d_real", "d_fake", "d_gp")
RATE_WINDOW = 30  # TrainStep events used for the wall-clock rate behind the ETA


class Series:
    """One growing curve: ``x`` (steps) and ``y`` as float64 arrays, amortised O(1) appends.

    An ``x`` at or before the last one drops the overlapped tail first: a resumed run repeats the
    steps after its last checkpoint, and the curve must show the steps that count, once.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        """Add a point (see the class docstring for repeated steps)."""
        if self.n and x <= self._x[self.n - 1]:
            self.n = int(np.searchsorted(self._x[: self.n], x, side="left"))
        if self.n == len(self._x):
            self._x = np.resize(self._x, 2 * self.n)
            self._y = np.resize(self._y, 2 * self.n)
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1

    @property
    def x(self) -> np.ndarray:
        """The steps (a view; copy before keeping it)."""
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        """The values (a view)."""
        return self._y[: self.n]

    def last(self) -> float | None:
        """The latest value, or None when empty."""
        return float(self._y[self.n - 1]) if self.n else None

    def __len__(self) -> int:
        return self.n


def _number(value: Any) -> float:
    """A float from an event value (the JSON log writes nan/inf as strings)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


class LossHistory:
    """Every curve of a run: losses by name, learning rates, validation PSNR/SSIM, phase starts.

    ``series`` keys: the loss names of the trainer (``g_pixel``, ``d_fake``...), ``lr``, ``lr_d``,
    ``psnr``, ``ssim`` and, with ``runtime.val_blend``, ``blend_psnr``, ``blend_ssim`` (the deployed
    form, :mod:`trainer.train.deployed`). ``bicubic_psnr``/``bicubic_ssim`` are the validation set's bicubic levels
    (the reference lines).
    """

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.bicubic_psnr: float | None = None
        self.bicubic_ssim: float | None = None
        self.phases: list[tuple[int, str]] = []
        self.version = 0

    def _add(self, name: str, x: float, y: float) -> None:
        self.series.setdefault(name, Series()).append(x, y)

    def get(self, name: str) -> Series | None:
        """The series ``name`` or None when the run has not produced it."""
        return self.series.get(name)

    def add_step(self, step: int, losses: dict[str, Any], lr: Any, lr_d: Any) -> None:
        """Record a ``TrainStep``."""
        for name, value in losses.items():
            self._add(name, step, _number(value))
        self._add("lr", step, _number(lr))
        if lr_d is not None:
            self._add("lr_d", step, _number(lr_d))
        self.version += 1

    def add_validation(self, step: int, psnr: Any, ssim: Any, bicubic_psnr: Any, bicubic_ssim: Any) -> None:
        """Record a ``Validation`` (the bicubic levels are per validation set, the last one wins)."""
        self._add("psnr", step, _number(psnr))
        self._add("ssim", step, _number(ssim))
        self.bicubic_psnr, self.bicubic_ssim = _number(bicubic_psnr), _number(bicubic_ssim)
        self.version += 1

    def add_blend(self, step: int, psnr: Any, ssim: Any) -> None:
        """Record a validation's deployed-form figures (``Validation.blend``)."""
        self._add("blend_psnr", step, _number(psnr))
        self._add("blend_ssim", step, _number(ssim))
        self.version += 1

    def add_phase(self, start_step: int, name: str) -> None:
        """Record a phase start (drawn as a vertical line)."""
        self.phases = [p for p in self.phases if p[0] < start_step] + [(start_step, name)]
        self.version += 1


@dataclass
class MonitorState:
    """Everything the monitor shows about one run; :meth:`apply` takes events or log records.

    ``status``: ``starting``, ``running``, ``paused``, ``stopping``, ``finished`` (completed),
    ``stopped`` (stopped on request, resumable), ``time_limit`` (a phase's time limit ended the run
    before its last step), ``failed``. ``plan``: (name, start step, end step, time limit s) of each
    phase and ``speed`` the seconds per step of each phase (the probe's, then the run's own, see
    :meth:`plan_phases` and :meth:`estimate`). ``version`` changes with every
    applied event, ``samples_version`` with every new set of validation crops.
    """

    run_dir: str = ""
    recipe: str = ""
    device: str = ""
    precision: str = ""
    status: str = "starting"
    total_steps: int = 0
    start_step: int = 0
    step: int = 0
    phase: str = ""
    phase_index: int = 0
    phase_end: int = 0
    adversarial: str = "none"
    train_images: int = 0
    val_images: int = 0
    steps_per_second: float = 0.0
    images_per_second: float = 0.0
    data_fraction: float = 0.0
    skipped: int = 0
    psnr: float | None = None
    ssim: float | None = None
    best_psnr: float | None = None
    dataset: str = ""
    samples: tuple[Any, ...] = ()
    notices: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    last_checkpoint: str = ""
    error: Any = None  # the Error event (or record)
    finished: Any = None  # the Finished event (or record)
    history: LossHistory = field(default_factory=LossHistory)
    version: int = 0
    samples_version: int = 0
    plan: list[tuple[str, int, int, float]] = field(default_factory=list)
    speed: dict[str, float] = field(default_factory=dict)
    measured: set[str] = field(default_factory=set)
    time_limited: list[str] = field(default_factory=list)
    _rates: deque = field(default_factory=lambda: deque(maxlen=RATE_WINDOW), repr=False)
    _phase_clock: float | None = field(default=None, repr=False)

    def plan_phases(self, config: Any, speed: dict[str, float] | None = None) -> None:
        """Know the run's phases (steps, time limits) and start from the probe's seconds per step
        of each phase (``speed``, the wizard's figures), so the first estimate is the wizard's."""
        self.plan, start = [], 0
        for p in config.phases:
            self.plan.append((p.name, start, start + int(p.iterations), float(p.time_limit_s or 0.0)))
            start += int(p.iterations)
        self.speed = {k: v for k, v in (speed or {}).items() if v and v > 0}
        self.measured = set()
        self.version += 1

    @property
    def name(self) -> str:
        """The run folder's name."""
        return Path(self.run_dir).name if self.run_dir else ""

    @property
    def active(self) -> bool:
        """True while the run can still produce steps."""
        return self.status in ("starting", "running", "paused", "stopping")

    def note(self, message: str) -> None:
        """Add a line to the run's notices (the monitor's log)."""
        self.notices.append(message)
        self.version += 1

    def apply(self, event: Any, now: float | None = None) -> None:
        """Absorb one trainer event (a dataclass) or ``metrics.jsonl`` record (a dict)."""
        if isinstance(event, dict):
            kind, f = event.get("event", ""), event
        else:
            kind, f = type(event).__name__, vars(event)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(f, event, time.monotonic() if now is None else now)
        self.version += 1

    # -- one handler per event class -------------------------------------------------------------
    def _on_RunStarted(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.run_dir, self.recipe = f["run_dir"], f["recipe"]
        self.device, self.precision = f["device"], f["precision"]
        self.total_steps, self.start_step, self.step = f["total_steps"], f["start_step"], f["start_step"]
        self.train_images, self.val_images = f["train_images"], f["val_images"]
        self.status, self.error, self.finished = "running", None, None
        self._rates.clear()
        self._rates.append((now, self.step))
        where = f" (resumed at step {self.step})" if f.get("resumed") else ""
        self.notices.append(f"Started on {self.device}, {self.precision}{where}: {self.train_images} training images, "
                            f"{self.val_images} validation images")

    def _on_PhaseChanged(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.phase, self.phase_index, self.phase_end = f["name"], f["index"], f["end_step"]
        self.adversarial = f.get("adversarial", "none")
        self.history.add_phase(f["start_step"], f["name"])
        self.notices.append(f"Phase {f['name']}: steps {f['start_step']}–{f['end_step']}")
        self._phase_clock = None if f.get("resumed") else now  # a resumed phase's elapsed time is unknown
        self._rates.clear()  # the rate is the phase's own: a GAN phase is slower than a pixel phase
        self._rates.append((now, f["start_step"]))

    def _on_TrainStep(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.step, self.total_steps, self.phase = f["step"], f["total_steps"], f["phase"]
        self.steps_per_second, self.images_per_second = _number(f["steps_per_second"]), _number(f["images_per_second"])
        self.data_fraction, self.skipped = _number(f["data_fraction"]), f.get("skipped", 0)
        self.history.add_step(f["step"], f["losses"], f["lr"], f.get("lr_d"))
        if self.status == "starting":
            self.status = "running"
        self._rates.append((now, self.step))
        if len(self._rates) >= 3 and self.phase:  # two timed steps of this phase: its own speed
            rate = self.rate()
            if rate > 0:
                self.speed[self.phase] = 1.0 / rate
                self.measured.add(self.phase)

    def _on_Validation(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.psnr, self.ssim, self.dataset = _number(f["psnr"]), _number(f["ssim"]), f["dataset"]
        self.best_psnr = _number(f["best_psnr"])
        self.history.add_validation(f["step"], f["psnr"], f["ssim"], f["bicubic_psnr"], f["bicubic_ssim"])
        blend = f.get("blend")
        if blend is not None:  # a BlendValidation from the trainer, a dict from metrics.jsonl
            b = blend if isinstance(blend, dict) else vars(blend)
            self.history.add_blend(f["step"], b["psnr"], b["ssim"])
        samples = f.get("samples") or ()
        if samples:
            self.samples = tuple(samples)
            self.samples_version += 1

    def _on_CheckpointSaved(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.last_checkpoint = f["path"]
        if f.get("reason") in ("stop", "request"):
            self.notices.append(f"Checkpoint saved at step {f['step']} ({f['reason']})")

    def _on_ModelExported(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.models.append(f["path"])
        self.notices.append(f"Model written: {Path(f['path']).name} (step {f['step']})")

    def _on_Notice(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.notices.append(f["message"])
        if TIME_LIMIT_NOTICE in f["message"]:
            self.time_limited.append(self.phase or f["message"].split()[1])

    def _on_Paused(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        if self.status != "stopping":
            self.status = "paused"
        self.notices.append(f"Paused after step {f['step']}")

    def _on_Resumed(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        if self.status == "paused":
            self.status = "running"
        self._rates.clear()  # the pause must not count in the rate
        self._rates.append((now, self.step))

    def _on_Finished(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.step = f["step"]
        self.total_steps = f["total_steps"] or self.total_steps
        if f["stopped"]:
            self.status = "stopped"
        elif self.step < self.total_steps:  # it ended early without a stop request: a time limit
            self.status = "time_limit"
        else:
            self.status = "finished"
        self.finished = event
        if f.get("best_psnr") is not None:
            self.best_psnr = _number(f["best_psnr"])
        self.notices.append(ending_text(self.status, self.step, self.total_steps))

    def _on_Error(self, f: dict, event: Any, now: float) -> None:  # noqa: N802
        self.status, self.error = "failed", event
        self.notices.append(f"Failed: {f['message']}")

    # -- derived figures ---------------------------------------------------------------------------
    def rate(self) -> float:
        """Steps per second of wall time over the recent steps (validation and checkpoints
        included, pauses excluded); the trainer's own rate until two steps were seen."""
        if len(self._rates) >= 2:
            (t0, s0), (t1, s1) = self._rates[0], self._rates[-1]
            if t1 > t0 and s1 > s0:
                return (s1 - s0) / (t1 - t0)
        return self.steps_per_second

    def estimate(self, now: float | None = None) -> Estimate:
        """What remains of the run (:func:`.estimate.estimate`): the current phase's steps at its
        measured speed (the probe's until measured) and the rest of its time limit, then the
        later phases at the probe's speeds, each cut by its time limit."""
        now = time.monotonic() if now is None else now
        speed = dict(self.speed)
        rate = self.rate()
        if self.phase and self.phase not in speed and rate > 0:
            speed[self.phase] = 1.0 / rate
        if not self.plan:  # a past run's log: one block of the remaining steps
            return estimate([PhasePlan(self.phase or "run", max(0, self.total_steps - self.step))],
                            {self.phase or "run": 1.0 / rate} if rate > 0 else {})
        plans = []
        for name, start, end, limit in self.plan:
            if end <= self.step:
                continue
            if start <= self.step:  # the current phase
                if limit and self._phase_clock is not None:
                    limit = max(1e-9, limit - (now - self._phase_clock))
                plans.append(PhasePlan(name, end - self.step, limit))
            else:
                plans.append(PhasePlan(name, end - start, limit))
        return estimate(plans, speed)

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds to the end of the run (:meth:`estimate`), None when unknown or not running."""
        if self.status != "running" or not self.total_steps:
            return None
        return self.estimate(now).seconds

    def progress(self) -> float:
        """Fraction of the steps done (0..1)."""
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def format_duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``; ``—`` when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    if s < 90:
        return f"{s} s"
    if s < 90 * 60:
        return f"{round(s / 60)} min"
    h, m = divmod(round(s / 60), 60)
    if h < 48:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"


def state_from_records(run_dir: str | Path, records: list[dict[str, Any]]) -> MonitorState:
    """A monitor state rebuilt from a run's log records (a past or interrupted run)."""
    state = MonitorState(run_dir=str(run_dir))
    for record in records:
        state.apply(record, now=0.0)
    if state.status in ("starting", "running", "paused", "stopping"):
        state.status = "interrupted"  # the log ends without Finished/Error: the process died
    return state
