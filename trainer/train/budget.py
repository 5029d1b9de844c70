"""A PSNR budget for a GAN phase (``pixel.budget_db``): the pixel weight as a Lagrange multiplier.

A GAN trades PSNR for texture, and at a fixed loss weighting it keeps trading as long as it trains:
``gan30`` (docs/GAN_RECIPE.md) lost 0.5 dB on its hold-out in 2500 steps and was still going. The
issue asks for a floor that holds at every validation of a 10k-step run. Here the floor is part of
the objective: at each step the generator's MSE on the batch is compared with that of a fixed
reference network (the PSNR model the GAN starts from) on the same batch,

    gap = 10 log10(EMA(mse_generator) / EMA(mse_reference))      (dB, averaged over ~100 steps)
    log m <- clip(log m + rate * (gap - budget), 0, log 64)

and the pixel term is ``weight x m``. While the GAN costs less than ``budget`` dB, m stays 1 and the
recipe is exactly the one without a budget; once it costs more, m grows until the pixel loss holds
the gap at the budget (GECO, Rezende & Viola 2018, "Taming VAEs", for a reconstruction
constraint). Measured on the training batches, not on a validation set, so selection stays honest.
The ratio is taken on the same batch, so the batches' very different difficulty cancels out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import nn

if TYPE_CHECKING:
    from trainer.config import TrainingConfig
    from trainer.loaded_model import LoadedModel

MAX_MULTIPLIER = 64.0  # a bound, not a target: far above what a 1 dB budget should need


class PixelBudget:
    """The multiplier of one phase's pixel weight (module docstring).

    Args:
        reference: the reference network (frozen, same input and output as the generator).
        budget_db: the PSNR the generator may lose against the reference on the training batches.
        rate: change of log m per step, per dB over (or under) the budget.
        decay: of the two MSE averages (0.99: about 100 steps).
        mean: turns a local tensor into its mean over all DDP ranks, so every rank keeps the same m.
        keep_reference: the reference's weights go into :meth:`state_dict` (a reference that is
            the generator as the phase started exists in no file).
        batch_stats: run the reference's BatchNorm layers on the batch's statistics, as the
            training generator's are (their stored statistics stay untouched); otherwise on the
            stored ones.
    """

    def __init__(self, reference: nn.Module, budget_db: float, rate: float, decay: float = 0.99,
                 mean: Callable[[torch.Tensor], torch.Tensor] = lambda t: t, keep_reference: bool = False,
                 batch_stats: bool = True) -> None:
        self.reference = reference.eval()
        if batch_stats:
            # Train-mode BatchNorm without tracking normalises with the batch's statistics and leaves the
            # stored ones (and their counter) as they are: the reference does not drift, a kept copy is saved as it was.
            for m in reference.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.track_running_stats = False
                    m.train()
        self.keep_reference = keep_reference
        self.budget_db, self.rate, self.decay = float(budget_db), float(rate), float(decay)
        self._mean = mean
        self.log_mult = 0.0
        self.mse: tuple[float, float] | None = None  # EMA of (generator, reference) MSE

    @property
    def multiplier(self) -> float:
        return math.exp(self.log_mult)

    @property
    def gap_db(self) -> float:
        """How much worse the generator is than the reference on recent batches, in dB (0 before any step)."""
        return 10.0 * math.log10(self.mse[0] / self.mse[1]) if self.mse else 0.0

    def update(self, lr: torch.Tensor, sr: torch.Tensor, hr: torch.Tensor) -> float:
        """Account for this step's batch (``sr``: the generator's output on ``lr``); the multiplier to use now.

        A non-finite generator output (a step about to be skipped) leaves the state as it is.
        """
        with torch.no_grad():
            ref = self.reference(lr)
            hr32 = hr.float()
            both = torch.stack([((sr.detach().float() - hr32) ** 2).mean(), ((ref.float() - hr32) ** 2).mean()])
            mse_g, mse_r = self._mean(both).tolist()
        if not (math.isfinite(mse_g) and math.isfinite(mse_r)):
            return self.multiplier
        mse_g, mse_r = max(mse_g, 1e-12), max(mse_r, 1e-12)
        if self.mse is None:
            self.mse = (mse_g, mse_r)
        else:
            d = self.decay
            self.mse = (d * self.mse[0] + (1 - d) * mse_g, d * self.mse[1] + (1 - d) * mse_r)
        self.log_mult = min(max(self.log_mult + self.rate * (self.gap_db - self.budget_db), 0.0), math.log(MAX_MULTIPLIER))
        return self.multiplier

    def state_dict(self) -> dict[str, Any]:
        """What resuming needs: the multiplier, the averages and, with ``keep_reference``, the reference's weights."""
        state: dict[str, Any] = {"log_mult": self.log_mult, "mse": list(self.mse) if self.mse else None}
        if self.keep_reference:
            state["reference"] = {k: v.detach().clone() for k, v in self.reference.state_dict().items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.log_mult = float(state["log_mult"])
        self.mse = tuple(float(v) for v in state["mse"]) if state.get("mse") else None
        if self.keep_reference and state.get("reference") is not None:
            self.reference.load_state_dict(state["reference"])


def start_reference(generator: nn.Module) -> nn.Module:
    """A frozen copy of ``generator`` as it is now (``budget_reference = "@start"``)."""
    import copy

    return copy.deepcopy(generator).eval().requires_grad_(False)


def budget_references(config: TrainingConfig, generator: LoadedModel, device: torch.device,
                      memory_format: torch.memory_format = torch.preserve_format) -> dict[int, nn.Module]:
    """The reference network of each phase whose PSNR budget is measured against a file, by phase
    index: loaded on ``device`` and checked to be ``generator``'s network (one load per file).

    Raises:
        trainer.train.reference.ReferenceModelError: a file is missing or holds another network.
    """
    from trainer.train.reference import load_same_network

    refs: dict[int, nn.Module] = {}
    loaded: dict[str, nn.Module] = {}
    for i, phase in enumerate(config.phases):
        if phase.pixel.budget_db <= 0 or phase.iterations == 0 or phase.pixel.budget_reference == "@start":
            continue
        path = config.model.init_weights if phase.pixel.budget_reference == "@init" else phase.pixel.budget_reference
        if path not in loaded:
            ref = load_same_network(path, generator, f"phases[{i}].pixel.budget_reference",
                                    "the network the PSNR budget is measured against", device)
            loaded[path] = ref.module.to(device, memory_format=memory_format)
        refs[i] = loaded[path]
    return refs
