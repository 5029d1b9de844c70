"""The optimisation step of a phase: generator step, then discriminator step.

Reference order (BasicSR ``srgan_model.py``): the discriminator is frozen while the generator
learns from it (its parameters get no gradient, the SR image does); then the discriminator learns
from HR against the *detached* SR (computed here with one discriminator forward on SR shared by
both sides, see :meth:`GANStep.__call__`). Each side has its own optimiser and, in fp16, its own
GradScaler. A step whose loss (or, with clipping, gradient norm) is not finite is skipped and
counted; :class:`NonFiniteLoss` ends the run when that persists.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from trainer.config import OptimizerConfig, PhaseConfig
from trainer.train.budget import PixelBudget
from trainer.train.ema import ModelEMA
from trainer.train.losses import (
    AdversarialLoss,
    ContentLoss,
    feature_matching_loss,
    gradient_penalty,
    high_pass,
    lattice_loss,
    phase_energy_loss,
    pixel_loss,
)


class NonFiniteLoss(RuntimeError):
    """Too many consecutive steps had NaN/inf losses or gradients."""


def lr_at(cfg: OptimizerConfig, k: int, iterations: int) -> float:
    """Learning rate at step ``k`` (0-based) of a phase of ``iterations`` steps."""
    lr = cfg.lr
    if cfg.schedule == "step":
        lr *= cfg.gamma ** sum(1 for m in cfg.milestones if k >= round(m * iterations))
    elif cfg.schedule == "cosine":
        low = cfg.lr * cfg.gamma
        lr = low + (cfg.lr - low) * 0.5 * (1.0 + math.cos(math.pi * min(k, iterations) / iterations))
    if cfg.warmup_steps and k < cfg.warmup_steps:
        lr *= (k + 1) / cfg.warmup_steps
    return lr


# Fused Adam on the CPU arrived in PyTorch 2.4 (pyproject allows >= 2.2).
_HAS_FUSED_CPU_ADAM = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)


def make_adam(params: Any, cfg: OptimizerConfig, device: torch.device) -> torch.optim.Adam:
    """Adam with the config's betas and weight decay, as one fused kernel where PyTorch has one.

    On this project's 2-core CPU the default (per-parameter, for-loop) Adam took 0.19 s per step for
    the SRGAN G + D (25 M parameters, most of them in the discriminator's dense layer), the fused
    CPU kernel (PyTorch >= 2.4) 0.04 s; on CUDA the fused kernel is the recommended one too.
    """
    extra = {"fused": True} if device.type == "cuda" or (device.type == "cpu" and _HAS_FUSED_CPU_ADAM) else {}
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, **extra)


def _agree(flag: bool) -> bool:
    return flag


class GANStep:
    """Optimisers, scalers and loss terms of one phase; calling it performs one step.

    Args:
        phase: the phase config (losses, optimisers, clipping).
        generator: the generator module (what the optimiser and the EMA see).
        g_forward: what to call for the forward pass (the generator, its DDP wrapper or its
            compiled form).
        ema: the generator EMA, updated after every generator step.
        content: the VGG content loss, when the phase has one.
        discriminator / d_forward: the discriminator and what to call for its own update (DDP).
        amp_dtype: autocast dtype (float32 = no autocast).
        agree: turns a per-process "step is finite" flag into the verdict of all processes (DDP).
        nan_patience: consecutive non-finite steps tolerated before :class:`NonFiniteLoss`.
        budget: the phase's PSNR budget (``pixel.budget_db``), which scales the pixel weight.
    """

    def __init__(
        self,
        phase: PhaseConfig,
        *,
        generator: nn.Module,
        g_forward: nn.Module,
        ema: ModelEMA,
        device: torch.device,
        amp_dtype: torch.dtype = torch.float32,
        content: ContentLoss | None = None,
        discriminator: nn.Module | None = None,
        d_forward: nn.Module | None = None,
        agree: Callable[[bool], bool] = _agree,
        nan_patience: int = 20,
        budget: PixelBudget | None = None,
    ) -> None:
        self.phase = phase
        self.generator = generator
        self.g_forward = g_forward
        self.ema = ema
        self.device = device
        self.amp_dtype = amp_dtype
        self.content = content
        self.discriminator = discriminator if phase.is_gan else None
        self.d_forward = d_forward or discriminator
        self.adversarial = AdversarialLoss(phase.adversarial) if phase.is_gan else None
        self.agree = agree
        self._patience = nan_patience
        self.budget = budget
        fp16 = amp_dtype == torch.float16
        self.opt_g = make_adam(generator.parameters(), phase.optimizer, device)
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=fp16)
        self.opt_d = self.scaler_d = None
        if self.discriminator is not None:
            # Trainable throughout: each backward picks its own side's parameters (see __call__).
            self.discriminator.requires_grad_(True)
            self.opt_d = make_adam(self.discriminator.parameters(), phase.discriminator.optimizer, device)
            self.scaler_d = torch.amp.GradScaler(device.type, enabled=fp16)
        self.consecutive_bad = 0
        self.skipped = 0

    # ------------------------------------------------------------------ schedule and state

    def set_lr(self, k: int, iterations: int) -> tuple[float, float | None]:
        """Set both learning rates for step ``k`` of the phase; returns ``(lr_g, lr_d)``."""
        lr_g = lr_at(self.phase.optimizer, k, iterations)
        for group in self.opt_g.param_groups:
            group["lr"] = lr_g
        lr_d = None
        if self.opt_d is not None:
            lr_d = lr_at(self.phase.discriminator.optimizer, k, iterations)
            for group in self.opt_d.param_groups:
                group["lr"] = lr_d
        return lr_g, lr_d

    def state_dict(self) -> dict[str, Any]:
        """Optimisers, scalers and counters (the schedule is a function of the step)."""
        return {
            "opt_g": self.opt_g.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else None,
            "scaler_d": self.scaler_d.state_dict() if self.scaler_d else None,
            "skipped": self.skipped,
            "consecutive_bad": self.consecutive_bad,
            "budget": self.budget.state_dict() if self.budget is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.opt_g.load_state_dict(state["opt_g"])
        if state.get("scaler_g"):
            self.scaler_g.load_state_dict(state["scaler_g"])
        if self.opt_d is not None and state.get("opt_d"):
            self.opt_d.load_state_dict(state["opt_d"])
            if state.get("scaler_d"):
                self.scaler_d.load_state_dict(state["scaler_d"])
        self.skipped = int(state.get("skipped", 0))
        self.consecutive_bad = int(state.get("consecutive_bad", 0))
        if self.budget is not None and state.get("budget"):
            self.budget.load_state_dict(state["budget"])

    # ------------------------------------------------------------------ the step

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _apply(self, loss: torch.Tensor, params: list[torch.Tensor], opt: torch.optim.Optimizer,
               scaler: torch.amp.GradScaler, clip: float, *, retain_graph: bool = False) -> bool:
        """Backward into ``params`` only, then step, unless the loss (or clipped gradient norm) is
        non-finite anywhere. ``retain_graph`` keeps the graph for a second backward (see __call__)."""
        opt.zero_grad(set_to_none=True)
        if not self.agree(bool(torch.isfinite(loss))):
            return False
        scaler.scale(loss).backward(inputs=params, retain_graph=retain_graph)
        if clip > 0:
            scaler.unscale_(opt)
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            # With fp16 the scaler skips inf gradients itself (and lowers its scale): not an error.
            if not scaler.is_enabled() and not self.agree(bool(torch.isfinite(norm))):
                opt.zero_grad(set_to_none=True)
                return False
        scaler.step(opt)
        scaler.update()
        return True

    def _d_view(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """What the discriminator sees of an image this step: the image itself, or only its detail
        (``adversarial.high_pass`` > 0), rolled (``adversarial.shift`` > 0) by this step's random
        offset, the same for HR and SR. The
        offset comes from torch's global generator, whose state checkpoints keep (exact resume)."""
        shift = self.phase.adversarial.shift if self.discriminator is not None else 0
        sigma = self.phase.adversarial.high_pass if self.discriminator is not None else 0.0
        detail = (lambda x: high_pass(x, sigma)) if sigma > 0 else (lambda x: x)  # noqa: E731
        if shift <= 1:
            return detail
        dy, dx = torch.randint(0, shift, (2,)).tolist()
        return lambda x: torch.roll(detail(x), shifts=(dy, dx), dims=(2, 3))

    def __call__(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float] | None:
        """One step on a batch; the named loss floats, or None when the step was skipped.

        The discriminator runs once on SR (and once on HR), not once per side: its logits on SR
        serve both the generator loss and, in the discriminator step, the loss on the fake. The
        generator's backward is restricted to the generator's parameters (so D is frozen: it gets
        no gradient from the generator's loss) and keeps the graph; the discriminator's backward
        then goes into D's parameters only (so SR is detached: nothing flows into G). D's weights
        do not change between the two, so this is the reference "G step with D frozen, then D step
        on SR.detach()" with one discriminator forward fewer (tested against it). With
        ``adversarial.shift`` the discriminator sees both images rolled by this step's offset.
        """
        phase, d = self.phase, self.discriminator
        g_params = list(self.generator.parameters())
        terms: dict[str, torch.Tensor] = {}
        d_view = self._d_view()
        with self._autocast():
            sr = self.g_forward(lr)
            if phase.pixel.weight > 0:
                mult = self.budget.update(lr, sr, hr) if self.budget is not None else 1.0
                terms["g_pixel"] = phase.pixel.weight * mult * pixel_loss(sr, hr, phase.pixel)
            if phase.pixel.lattice > 0:
                terms["g_lattice"] = phase.pixel.lattice * lattice_loss(sr, hr, hr.shape[-1] // lr.shape[-1],
                                                                               phase.pixel.lattice_scope)
            if phase.pixel.phase_energy > 0:
                terms["g_phase"] = phase.pixel.phase_energy * phase_energy_loss(sr, hr, hr.shape[-1] // lr.shape[-1],
                                                                                    phase.pixel.phase_energy_form)
            if self.content is not None:
                terms["g_content"] = phase.content.weight * self.content(sr, hr)
            if d is not None:
                fm = phase.adversarial.feature_matching
                if fm > 0:  # D's own encoder features as a perceptual space (no VGG weights needed)
                    fake_logits, fake_feats = self.d_forward(d_view(sr), return_features=True)
                    real_logits, real_feats = self.d_forward(d_view(hr), return_features=True)
                    terms["g_feature"] = fm * feature_matching_loss(fake_feats, real_feats)
                else:
                    fake_logits = self.d_forward(d_view(sr))
                    real_logits = self.d_forward(d_view(hr))
                terms["g_adversarial"] = phase.adversarial.weight * self.adversarial.generator(fake_logits, real_logits.detach())
        g_total = torch.stack([t.float() for t in terms.values()]).sum()
        ok = self._apply(g_total, g_params, self.opt_g, self.scaler_g, phase.optimizer.grad_clip, retain_graph=d is not None)
        if ok:
            self.ema.update(self.generator)
        values = dict(terms, g_total=g_total)

        # ---- discriminator step: HR against SR, gradients into D only
        if d is not None and ok:
            with self._autocast():
                d_terms = self.adversarial.discriminator(real_logits, fake_logits)
            if phase.adversarial.type == "wgan-gp" and phase.adversarial.gp_weight > 0:
                d_terms["d_gp"] = phase.adversarial.gp_weight * gradient_penalty(self.d_forward, d_view(hr), d_view(sr.detach()))
            d_total = torch.stack(list(d_terms.values())).sum()
            ok = self._apply(d_total, list(d.parameters()), self.opt_d, self.scaler_d, phase.discriminator.optimizer.grad_clip)
            values.update(d_terms, d_total=d_total)
            values["d_real_logit"] = real_logits.detach().float().mean()
            values["d_fake_logit"] = fake_logits.detach().float().mean()

        if not ok:
            self.skipped += 1
            self.consecutive_bad += 1
            if self.consecutive_bad >= self._patience:
                raise NonFiniteLoss(
                    f"the loss or gradients were NaN/inf for {self.consecutive_bad} consecutive steps "
                    f"({self.skipped} skipped in all); lower the learning rate, enable gradient clipping "
                    "(optimizer.grad_clip) or train in fp32 (runtime.precision = \"fp32\")"
                )
            return None
        self.consecutive_bad = 0
        names = list(values)
        floats = torch.stack([v.detach().float() for v in values.values()]).tolist()  # one sync
        out = dict(zip(names, floats))
        if self.budget is not None:  # diagnostics: the log and the CLI line show them, the plots do not
            out.update(budget_mult=self.budget.multiplier, budget_gap_db=self.budget.gap_db)
        return out
