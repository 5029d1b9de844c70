"""Speed probes for phase c: seconds per training step of a run's config, and the batch to train with.

A run's learning-rate schedule (cosine) needs its number of steps up front, while phase c has a
time budget: the probe times a few optimisation steps of the run's own phase (generator,
discriminator, losses, autocast, channels-last, EMA update; fixed random batches, so the data
loader is not in it), plus the LR degradation when it runs on the CPU (``realistic``), and the run
gets ``iterations = budget / seconds_per_step`` (less a margin; the phase's ``time_limit_s`` stops
it anyway).

Batch: an H100 is far from busy with 16 crops of 96x96 (the LR side is 24 pixels), so a larger
batch can train more samples per second. :func:`pick_batch` measures samples/s at 16, 32 and 64 and
takes the fastest when it beats batch 16 by ``MIN_GAIN``; the learning rate then grows with
sqrt(batch / 16), the usual rule for Adam (linear scaling overshoots it).
"""

from __future__ import annotations

import math
import time

import torch

GPU_BATCHES = (16, 32, 64)
SMOKE_BATCHES = (2, 4)
MIN_GAIN = 1.15


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_seconds(cfg, device: torch.device, *, batch: int | None = None, steps: int = 6) -> dict[str, float]:
    """Median seconds of one optimisation step (``step``) and of making one LR batch (``degrade``)
    for the last trained phase of ``cfg`` at ``batch`` (default: the config's)."""
    import dataclasses

    from trainer import models
    from trainer.train.data import degrade
    from trainer.train.ema import ModelEMA
    from trainer.train.setup import amp_dtype, use_channels_last
    from trainer.train.step import GANStep

    data = dataclasses.replace(cfg.data, batch_size=batch or cfg.data.batch_size)
    phase = [p for p in cfg.phases if p.iterations > 0][-1]
    fmt = torch.channels_last if use_channels_last(cfg.runtime.channels_last, device) else torch.contiguous_format
    g = models.build(cfg.model.arch, scale=data.scale, **cfg.model.hparams).to(device, memory_format=fmt)
    d = None
    if phase.is_gan:
        d = models.build(phase.discriminator.arch, **phase.discriminator.hparams).to(device, memory_format=fmt)
    step = GANStep(phase, generator=g, g_forward=g, ema=ModelEMA(g, cfg.runtime.ema_decay), device=device,
                   amp_dtype=amp_dtype(cfg.runtime.precision, device), discriminator=d)
    # Smooth random images (upsampled noise), not noise: the JPEG of the realistic degradation costs
    # what it costs on photos, not on noise.
    noise = torch.rand(data.batch_size, 3, data.crop // 8 + 1, data.crop // 8 + 1, device=device)
    hr = torch.nn.functional.interpolate(noise, size=(data.crop, data.crop), mode="bilinear", align_corners=False)
    hr = hr.contiguous(memory_format=fmt)
    times: dict[str, list[float]] = {"step": [], "degrade": []}
    for i in range(steps + 2):  # two warm-ups: cuDNN picks its kernels, autocast caches its casts
        _sync(device)
        t0 = time.perf_counter()
        lr = degrade(hr, data, channels_last=fmt == torch.channels_last, key=(0, i, 0))
        _sync(device)
        t1 = time.perf_counter()
        step(lr, hr)
        _sync(device)
        t2 = time.perf_counter()
        if i >= 2:
            times["degrade"].append(t1 - t0)
            times["step"].append(t2 - t1)
    del g, d, step
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def pick_batch(cfg, device: torch.device, base_lr: float, batches: tuple[int, ...]) -> tuple[int, float, dict[int, float]]:
    """``(batch, lr, samples_per_second by batch)``: the fastest batch per sample if it beats the
    first by ``MIN_GAIN``, else the first; the lr scaled by sqrt(batch / first)."""
    rates: dict[int, float] = {}
    for b in batches:
        try:
            t = step_seconds(cfg, device, batch=b, steps=4)
        except torch.OutOfMemoryError:
            break
        rates[b] = b / (t["step"] + t["degrade"])
    first = batches[0]
    best = max(rates, key=rates.get)
    if rates[best] < MIN_GAIN * rates[first]:
        best = first
    return best, base_lr * math.sqrt(best / first), rates
