"""One training-time estimate, shared by the wizard and the monitor (no Qt, no torch).

The duration of a phase is ``min(steps / speed, time limit)``: its steps at its measured speed,
ended early by its time limit. The wizard feeds the speed probe's seconds per step of each phase;
the monitor feeds the run's own measured speed for the current phase (the probe's figures until it
has measured some steps) and the probe's for the phases still to come. A phase with no figure of
its own borrows another phase's speed and is counted as a *guess*, never as measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TIME_LIMIT_NOTICE = "reached its time limit"  # the trainer's Notice when a phase ends on its limit


@dataclass(frozen=True)
class PhasePlan:
    """What remains of one phase: ``steps`` to run, ``time_limit_s`` left (0: no limit)."""

    name: str
    steps: int
    time_limit_s: float = 0.0


@dataclass(frozen=True)
class Estimate:
    """The estimated seconds and how they were obtained.

    ``measured``/``guessed``: phases whose speed was measured / borrowed from another phase;
    ``limited``: phases that end at their time limit before their last step; ``steps``: the steps
    expected to run (fewer than planned when a limit cuts a phase short).
    """

    seconds: float | None
    steps: int
    planned_steps: int
    measured: tuple[str, ...] = ()
    guessed: tuple[str, ...] = ()
    limited: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.seconds is not None


def phase_plans(config: Any) -> list[PhasePlan]:
    """The phases of a ``TrainingConfig`` as plans (all of their steps, their whole limits)."""
    return [PhasePlan(p.name, int(p.iterations), float(p.time_limit_s or 0.0)) for p in config.phases]


def estimate(phases: Sequence[PhasePlan], seconds_per_step: Mapping[str, float]) -> Estimate:
    """Seconds to run ``phases`` at ``seconds_per_step`` (by phase name; missing or 0: unknown).

    A phase without a figure takes the slowest known one (a guess); with no figure at all the
    estimate is unknown (``seconds`` None).
    """
    known = {n: s for n, s in seconds_per_step.items() if s and s > 0}
    fallback = max(known.values()) if known else 0.0
    total, steps, planned = 0.0, 0, 0
    measured, guessed, limited = [], [], []
    for p in phases:
        planned += max(0, p.steps)
        if p.steps <= 0:
            continue
        per_step = known.get(p.name)
        if per_step is None:
            if not fallback:
                return Estimate(None, planned, planned)
            per_step = fallback
            guessed.append(p.name)
        else:
            measured.append(p.name)
        seconds = per_step * p.steps
        if p.time_limit_s and seconds > p.time_limit_s:
            seconds = max(0.0, p.time_limit_s)
            limited.append(p.name)
            steps += min(p.steps, int(seconds / per_step))
        else:
            steps += p.steps
        total += seconds
    return Estimate(total, steps, planned, tuple(measured), tuple(guessed), tuple(limited))


def describe(est: Estimate, duration: str) -> str:
    """``2 min for 1,500 steps (measured speed)`` and, when a limit ends a phase early, which."""
    if not est.known:
        return ""
    how = "measured speed" if not est.guessed else (
        "a guess: " + ", ".join(est.guessed) + " not measured" if est.measured else "a guess")
    text = f"{duration} for {est.planned_steps:,} steps ({how})"
    if est.limited:
        text += (f"; phase {', '.join(est.limited)} stops at its time limit, after about "
                 f"{est.steps:,} of {est.planned_steps:,} steps")
    return text


def ending_text(status: str, step: int, total_steps: int) -> str:
    """How an ended run is labelled: completed, stopped on request, or ended by a time limit."""
    if status == "time_limit":
        return f"Stopped at the time limit after {step:,} of {total_steps:,} steps"
    if status == "stopped":
        return f"Stopped after {step:,} of {total_steps:,} steps (resumable)"
    if status == "finished":
        return f"Finished: {step:,} of {total_steps:,} steps"
    return ""
