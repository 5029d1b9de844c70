"""Phase a, training half: a GAN step under AMP, and a checkpoint saved and resumed on the device.

* ``amp_step_fp16`` / ``amp_step_bf16``: :class:`trainer.train.step.GANStep` with the ``srgan_x4``
  GAN phase (L1 + lattice + vanilla adversarial, discriminator shift) at the paper's sizes on a GPU
  (tiny ones in smoke runs). fp16: both GradScalers on and their scales finite; bf16: both off (bf16
  has fp32's range, no scaling needed). Every loss finite, no step skipped, weights still finite;
* ``resume``: the training loop itself, a GAN phase in ``fp16`` (so the scalers' state is in the
  checkpoint) on a few training images: straight through N steps, against stopped after k and
  resumed. The losses of every step after the resume and the final weights must agree; with
  PyTorch's deterministic algorithms on they should agree bitwise, which is reported separately.
  On CUDA the checkpoint must hold the CUDA RNG state.
"""

from __future__ import annotations

import math
import shutil
import warnings
from typing import Any

import numpy as np
import torch

from gpu import report as R
from gpu.context import Context
from gpu.toydata import smooth_image

STEPS = 3


def gan_phase(smoke: bool):
    """The GAN phase of the ``srgan_x4`` card (L1 + 500 lattice + 5e-3 vanilla adversarial, shift 16)."""
    from trainer.config import AdversarialConfig, DiscriminatorConfig, PhaseConfig, PixelLossConfig

    return PhaseConfig(
        name="gan", pixel=PixelLossConfig(type="l1", weight=1.0, lattice=500.0),
        adversarial=AdversarialConfig(type="vanilla", weight=5e-3, shift=4 if smoke else 16),
        discriminator=DiscriminatorConfig(arch="srgan_d", hparams={"channels": 4 if smoke else 64}),
    )


def run(ctx: Context) -> None:
    """Both training checks of phase a."""
    for prec in ("fp16", "bf16"):
        _amp_step(ctx, prec)
    _resume(ctx)


def _batch(ctx: Context, batch: int, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    from trainer.imresize import imresize_torch

    hr = np.stack([smooth_image(crop, crop, seed=i) for i in range(batch)])
    hr_t = torch.from_numpy(hr).permute(0, 3, 1, 2).float().div(255).to(ctx.device)
    return imresize_torch(hr_t, 0.25).clamp(0, 1), hr_t


def _amp_step(ctx: Context, prec: str) -> None:
    from trainer import models
    from trainer.train.ema import ModelEMA
    from trainer.train.step import GANStep

    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[prec]
    with ctx.reporter.check("a", f"amp_step_{prec}") as rec:
        if not ctx.enough(10):
            rec.skip(R.NO_BUDGET)
            return
        if ctx.cuda and prec == "bf16" and not torch.cuda.is_bf16_supported():
            rec.skip(R.NOT_AVAILABLE, "this GPU has no bf16")
            return
        torch.manual_seed(0)
        smoke = ctx.smoke
        # The CPU runs fp16 convolutions only in NCHW (oneDNN's channels-last fp16 kernels need AVX512-FP16).
        fmt = torch.channels_last if ctx.cuda else torch.contiguous_format
        g = models.build("srresnet", num_blocks=1 if smoke else 16, channels=8 if smoke else 64, bicubic_skip=True)
        phase = gan_phase(smoke)
        d = models.build("srgan_d", **phase.discriminator.hparams)
        g.to(ctx.device, memory_format=fmt)
        d.to(ctx.device, memory_format=fmt)
        step = GANStep(phase, generator=g, g_forward=g, ema=ModelEMA(g, 0.99), device=ctx.device, amp_dtype=dtype, discriminator=d)
        lr, hr = _batch(ctx, 2 if smoke else 16, 32 if smoke else 96)
        lr, hr = lr.contiguous(memory_format=fmt), hr.contiguous(memory_format=fmt)
        before = [p.detach().clone() for p in g.parameters()]
        losses = [step(lr, hr) for _ in range(STEPS)]
        finite = all(v is not None and all(math.isfinite(x) for x in v.values()) for v in losses)
        weights_ok = all(bool(torch.isfinite(p).all()) for p in [*g.parameters(), *d.parameters()])
        moved = any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))
        scalers = {"g": step.scaler_g.is_enabled(), "d": step.scaler_d.is_enabled()}
        scales = {k: float(s.get_scale()) for k, s in (("g", step.scaler_g), ("d", step.scaler_d)) if s.is_enabled()}
        want = prec == "fp16"
        scalers_ok = scalers == {"g": want, "d": want} and all(math.isfinite(s) and s > 0 for s in scales.values())
        last = losses[-1] or {}
        rec.figures.update({"scalers_on": scalers, "scales": scales, "skipped": step.skipped,
                            **{k: last[k] for k in ("g_total", "g_adversarial", "d_total") if k in last}})
        rec.verdict(finite and weights_ok and moved and scalers_ok and step.skipped == 0,
                    f"{STEPS} steps: losses finite {finite}, weights finite {weights_ok}, updated {moved}, "
                    f"scalers {'on' if want else 'off'} as designed {scalers_ok}")


def _subset(ctx: Context, n: int) -> Any:
    """A folder with the first ``n`` training images (decoding all of them three times costs seconds)."""
    from trainer.imageio import iter_image_files

    folder = ctx.work / "resume_data"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for f, _ in list(iter_image_files([ctx.data / "train"], recursive=True))[:n]:
            shutil.copy(f, folder / f.name)
    return folder


def _resume_config(ctx: Context):
    from trainer import config as C

    smoke = ctx.smoke
    overrides = {
        "data.train_dir": str(_subset(ctx, 4 if smoke else 8)), "data.val_dir": "", "data.crop": 32 if smoke else 96,
        "data.batch_size": 2 if smoke else 16, "model.num_blocks": 1 if smoke else 4, "model.channels": 8 if smoke else 32,
        "phases.0.iterations": 0, "phases.gan.iterations": 6, "phases.gan.content.type": "none",
        "phases.gan.pixel.type": "l1", "phases.gan.pixel.weight": 1.0, "phases.gan.pixel.lattice": 500.0,
        "phases.gan.adversarial.weight": 5e-3, "phases.gan.adversarial.shift": 4 if smoke else 16,
        "phases.gan.discriminator.channels": 4 if smoke else 16, "runtime.precision": "fp16" if ctx.cuda else "fp32",
        "runtime.device": str(ctx.device), "runtime.log_interval": 1, "runtime.val_interval": 0,
        "runtime.checkpoint_interval": 0, "runtime.ema_decay": 0.9, "runtime.threads": 1 if smoke else 0,
    }
    return C.apply_overrides(C.load_recipe("srgan"), overrides)


def _train(cfg, run_dir, *, stop_at: int | None = None, resume: bool = False) -> list:
    from trainer.train import TrainingControl, train

    control = TrainingControl()
    events = []
    for ev in train(cfg, run_dir, control=control, resume=resume):
        name = type(ev).__name__
        if name == "Error":
            raise RuntimeError(f"training failed: {ev.message}\n{ev.traceback[-1500:]}")
        events.append(ev)
        if name == "TrainStep" and ev.step == stop_at:
            control.stop()
    return events


def _losses(events) -> dict[int, dict[str, float]]:
    return {e.step: e.losses for e in events if type(e).__name__ == "TrainStep"}


class _Deterministic:
    """PyTorch's deterministic algorithms for the block (warnings, not errors, for ops without one)."""

    def __enter__(self):
        self.saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        return self

    def __exit__(self, *exc):
        torch.use_deterministic_algorithms(self.saved[0], warn_only=True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = self.saved[1], self.saved[2]


def _resume(ctx: Context) -> None:
    from trainer.train.checkpoint import list_checkpoints, load_checkpoint

    with ctx.reporter.check("a", "resume") as rec:
        if not ctx.enough(20):
            rec.skip(R.NO_BUDGET)
            return
        cfg = _resume_config(ctx)
        root = ctx.work / "resume"
        shutil.rmtree(root, ignore_errors=True)
        stop_at = 3
        with _Deterministic(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            straight = _losses(_train(cfg, root / "straight"))
            _train(cfg, root / "split", stop_at=stop_at)
            stop_state = load_checkpoint(list_checkpoints(root / "split")[-1][1])
            resumed = _losses(_train(cfg, root / "split", resume=True))
        nondet = sorted({str(w.message).split(" does not have a deterministic")[0][:120] for w in caught
                         if "deterministic" in str(w.message)})
        after = sorted(k for k in resumed if k > stop_at)
        rel = max((abs(resumed[k][n] - straight[k][n]) / max(abs(straight[k][n]), 1e-12) for k in after for n in straight[k]), default=math.inf)
        bitwise_losses = all(resumed[k] == straight[k] for k in after)
        a = load_checkpoint(list_checkpoints(root / "straight")[-1][1])
        b = load_checkpoint(list_checkpoints(root / "split")[-1][1])
        bitwise_weights = all(torch.equal(a["generator"][k], b["generator"][k]) for k in a["generator"])
        max_w = max(float((a["generator"][k].float() - b["generator"][k].float()).abs().max()) for k in a["generator"])
        cuda_rng = bool(stop_state["rng"][0].get("cuda"))
        scaler_saved = bool(stop_state["stepper"].get("scaler_g")) and bool(stop_state["stepper"].get("scaler_d"))
        rec.figures.update({"steps_compared": after, "max_rel_loss_diff": rel, "bitwise_losses": bitwise_losses,
                            "bitwise_weights": bitwise_weights, "max_weight_diff": max_w, "cuda_rng_saved": cuda_rng,
                            "scalers_saved": scaler_saved, "precision": cfg.runtime.precision, "nondeterministic_ops": nondet})
        same = bool(after) and after[0] == stop_at + 1 and rel <= 1e-5
        rng_ok = cuda_rng if ctx.cuda else True
        scaler_ok = scaler_saved if cfg.runtime.precision == "fp16" else True  # disabled scalers save nothing
        rec.verdict(same and rng_ok and scaler_ok,
                    f"steps {after} after the resume: max relative loss difference {rel:.2e}; bitwise losses "
                    f"{bitwise_losses}, weights {bitwise_weights}" + ("" if ctx.cuda else " (CPU: CUDA RNG not applicable)"))
