"""The run's settings, folders and time budget, handed to every phase.

Budget: ``--minutes`` is the whole run. When a phase starts it gets its share of the time *left*
(minus a reserve for the summary and the packing), in proportion to the shares of the phases still
to come, so time a phase did not use flows to the later ones (phase c, training, uses it best).
Inside a phase, each item asks :meth:`Context.left` before it starts and is skipped with status
``skipped (budget)`` when too little is left: a cut-off run is worse than a skipped item.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gpu.pack import Returns
from gpu.report import Reporter

# Default shares of the budget per phase (renormalised over the phases that run).
SHARES = {"a": 0.15, "b": 0.25, "c": 0.55, "d": 0.05}
# Seconds kept back for the summary and the last packing, whatever the phases do.
RESERVE_S = 20.0


@dataclass
class Context:
    """Everything a phase needs; built once by ``gpu_run.py``."""

    out: Path  # what comes back: at most 8 files (see gpu.pack)
    work: Path  # scratch space: run folders, engine outputs (never returned as is)
    data: Path  # a folder with train/ and benchmarks/Set5 (the bundle, or toy data with --smoke)
    repo: Path
    device: torch.device
    smoke: bool
    reporter: Reporter
    returns: Returns
    deadline: float  # time.monotonic() at which the whole run must be over
    phases: tuple[str, ...]
    shares: dict[str, float] = field(default_factory=lambda: dict(SHARES))
    phase_deadline: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)  # --plan, --set, --compile ...
    notes: dict[str, Any] = field(default_factory=dict)  # facts phases pass on (e.g. roofline)

    @property
    def cuda(self) -> bool:
        """Whether the run is on a CUDA device (CUDA-only checks are skipped otherwise)."""
        return self.device.type == "cuda"

    def start_phase(self, phase: str) -> float:
        """Set this phase's deadline from the time left; returns its budget in seconds."""
        later = [p for p in self.phases if p >= phase and p != "d"]
        weight = sum(self.shares.get(p, 0.0) for p in later) or 1.0
        left = max(0.0, self.deadline - time.monotonic() - (RESERVE_S if phase != "d" else 0.0))
        budget = left * self.shares.get(phase, 0.0) / weight if phase != "d" else left
        self.phase_deadline = time.monotonic() + budget
        return budget

    def left(self) -> float:
        """Seconds left in the current phase."""
        return self.phase_deadline - time.monotonic()

    def enough(self, seconds: float) -> bool:
        """Whether an item estimated to take ``seconds`` fits the current phase (always in smoke
        runs: they exist to run every path, and take seconds)."""
        return self.smoke or self.left() >= seconds

    def log(self, message: str) -> None:
        """Shortcut for the reporter's log."""
        self.reporter.log(message)
