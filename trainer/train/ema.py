"""Exponential moving average of the generator, parameters *and* buffers.

``ema = decay * ema + (1 - decay) * current`` after every optimiser step (``lerp_`` towards the
current weights by ``1 - decay``; written the other way round it would track the raw weights).
BatchNorm running statistics are floating buffers and are averaged the same way; integer buffers
(``num_batches_tracked``) are copied. The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` so
the average is not dominated by the random initialisation in short runs. The EMA module is what
gets validated and exported.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class ModelEMA:
    """EMA copy of ``model`` (``.module``, always in eval mode, no gradients)."""

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses (with the warm-up ramp)."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current parameters and buffers."""
        self.updates += 1
        weight = 1.0 - self.current_decay() if self.decay > 0 else 1.0
        ema_p = [p for p in self.module.parameters()]
        cur_p = [p.detach() for p in model.parameters()]
        if weight >= 1.0:
            for e, c in zip(ema_p, cur_p):
                e.copy_(c)
        else:
            torch._foreach_lerp_(ema_p, cur_p, weight)
        for e, c in zip(self.module.buffers(), model.buffers()):
            if e.is_floating_point() and weight < 1.0:
                e.lerp_(c, weight)
            else:
                e.copy_(c)

    @torch.no_grad()
    def reset(self, model: nn.Module) -> None:
        """Make the average equal to ``model`` (used when a new phase starts from other weights)."""
        self.module.load_state_dict(model.state_dict())
        self.updates = 0

    def state_dict(self) -> dict[str, Any]:
        """Weights and update count (for checkpoints)."""
        return {"module": self.module.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the configured decay is kept)."""
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
