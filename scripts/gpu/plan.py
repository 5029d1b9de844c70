"""Phase c's plan: which models to train, from which recipe and weights, with what share of the time.

The plan is data (a list of :class:`RunSpec`), so a better recipe can replace the default one
without touching the code: ``--plan FILE.json`` (a JSON list of objects with the fields below) or
``--set RUN:KEY=VALUE`` for one override (``--set srgan_x4:phases.gan.adversarial.weight=1e-2``).

Defaults, from the model cards in ``resources/models`` and docs/GAN_RECIPE.md:

* ``srresnet_rc_x4``: the base of a lattice-free GAN. Recipe ``srresnet`` with ``bicubic_skip =
  true`` and a resize-convolution upsampler (``model.upsampler = "bilinear_conv"``: tied sub-pixel
  kernels, every output position the same gain), started from the shipped pixel-shuffle
  ``srresnet_x4`` by a least-squares fit of its upsampler (Set5 31.45 -> 29.36 dB before any step,
  so it needs the steps); Adam 1.2e-4 at batch 16, cosine with 20 warm-up steps, EMA 0.995.
  Pixel-loss runs may take a larger batch (``scale_batch``) with the learning rate scaled by
  sqrt(batch / 16) when the probe finds it faster per sample (see :mod:`gpu.probe`). Why not the
  pixel-shuffle ``srresnet_x4`` again: its last GPU run gained 0.09 dB, and every GAN on a
  pixel-shuffle generator so far grew a grid (GPU run 1) or a dot lattice (``gan14``);
* ``srgan_x4``: issue 13's no-VGG recipe ``srgan-dfm`` (L1 + lattice + discriminator feature
  matching + relativistic adversarial with the U-Net SN discriminator, shift 16; docs/GAN_RECIPE.md)
  as ``gan14`` ran it (adversarial 1e-2, high-pass discriminator, sigma 1.5), phase 2 only, from
  ``srresnet_rc_x4`` (this run's, else the shipped ``srresnet_x4`` fitted), validating on 6 held-out training images with NIQE (``data.holdout``,
  ``runtime.val_niqe``), as the selection rule wants. Batch 16 as in the paper: a GAN's balance is
  not to be rescaled blind. fp32 (convolutions in TF32, PyTorch's default) and EMA 0.99, as in
  every CPU A/B run: the first H200 run, under the default bf16 autocast and EMA 0.999, lost 1.3 dB
  of hold-out PSNR by step 1352 (the CPU run at batch 8: 0.8 dB by 1500), then 1.8 dB more between
  steps 2028 and 2704 where the CPU runs levelled off, and grew a pixel grid (docs/GAN_RECIPE.md);
  until an A/B says which variable did it, only the batch differs from the CPU runs. ``series``
  intermediate checkpoints are exported (fp16, each with its Set5 figures) so the fixed selection
  rule can pick one back on the CPU; the 1.1 M-parameter discriminator (4.4 MB) travels with the run;
* ``photo_x4``: recipe ``photo`` (realistic degradations, L1), from a shipped ``photo_x4`` when
  there is one, else from the shipped ``srresnet_x4``. Its degradation runs on the CPU per crop (in up to 8
  threads on a GPU machine, ``data.realistic.threads``), so a larger batch only lengthens the
  step: batch 16. As the shipped file's last run (``photo_x4_c``): ``single_prob`` 0.8 and 6
  held-out photographs validated on web-degraded copies, so the card's rule (hold-out@web at least
  0.05 dB over the shipped file) can choose; the first H200 run validated on Set5 and could not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunSpec:
    """One training run of phase c.

    Attributes:
        name: the exported model's name (``srresnet_x4``); also the zip returned for it.
        recipe: a shipped recipe (``trainer/recipes``).
        overrides: dotted-key overrides (``srgan-train --set`` syntax, values as JSON/TOML types).
        init: where the starting weights come from, the first usable wins: ``run:NAME`` (this
            script's export of an earlier run, if it beats ``shipped:NAME`` on Set5), ``shipped:NAME``
            (``resources/models/NAME.safetensors``), or a file path. Empty = from scratch.
        share: part of phase c's time.
        base_lr: learning rate at batch 16 (scaled with the batch when ``scale_batch``).
        scale_batch: let the probe pick a larger batch (pixel-loss runs only).
        series: intermediate checkpoints to export (GAN runs: a selection happens on the CPU).
    """

    name: str
    recipe: str
    overrides: dict[str, Any] = field(default_factory=dict)
    init: tuple[str, ...] = ()
    share: float = 1.0
    base_lr: float = 1e-4
    scale_batch: bool = False
    series: int = 0


DEFAULT_PLAN: tuple[RunSpec, ...] = (
    RunSpec(
        name="srresnet_rc_x4", recipe="srresnet", init=("shipped:srresnet_x4",), share=0.35, base_lr=1.2e-4, scale_batch=True,
        overrides={"model.bicubic_skip": True, "model.upsampler": "bilinear_conv", "phases.0.optimizer.schedule": "cosine",
                   "phases.0.optimizer.warmup_steps": 20, "runtime.ema_decay": 0.995},
    ),
    RunSpec(
        name="srgan_x4", recipe="srgan-dfm", init=("run:srresnet_rc_x4", "shipped:srresnet_x4"), share=0.35, base_lr=1e-4, series=4,
        overrides={"phases.0.iterations": 0, "data.batch_size": 16, "data.holdout": 6, "runtime.val_niqe": True,
                   "runtime.precision": "fp32", "runtime.ema_decay": 0.99, "model.upsampler": "bilinear_conv",
                   "phases.gan.adversarial.weight": 1e-2, "phases.gan.adversarial.high_pass": 1.5},
    ),
    RunSpec(
        name="photo_x4", recipe="photo", init=("shipped:photo_x4", "shipped:srresnet_x4"), share=0.30,
        base_lr=1.5e-4, overrides={"data.batch_size": 16, "runtime.ema_decay": 0.995, "data.holdout": 6,
                                   "data.realistic.single_prob": 0.8},
    ),
)

# Smoke runs: the same plan on a generator and discriminator small enough for seconds on a CPU.
SMOKE_OVERRIDES = {
    "model.num_blocks": 1, "model.channels": 8, "data.crop": 32, "data.batch_size": 2, "data.val_max_images": 1,
    "runtime.threads": 1, "runtime.log_interval": 1,
}
SMOKE_GAN = {"phases.gan.discriminator.channels": 2, "phases.gan.adversarial.shift": 4}
SMOKE_PHOTO = {"data.realistic.kernel_sizes": [7], "data.realistic.kernel_probs": [1.0, 0.0, 0.0, 0.0]}


def load_plan(path: Path | None, sets: list[str]) -> list[RunSpec]:
    """The default plan, or the one in ``path``; then the ``RUN:KEY=VALUE`` overrides."""
    if path is None:
        plan = list(DEFAULT_PLAN)
    else:
        known = {f.name for f in fields(RunSpec)}
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        plan = []
        for item in raw:
            unknown = set(item) - known
            if unknown:
                raise ValueError(f"{path}: unknown run field(s) {sorted(unknown)}; known: {sorted(known)}")
            plan.append(RunSpec(**{**item, "init": tuple(item.get("init", ()))}))
    from trainer.config import parse_value

    for item in sets:
        target, _, assignment = item.partition(":")
        key, eq, value = assignment.partition("=")
        if not eq or not key:
            raise ValueError(f"--set {item!r}: expected RUN:KEY=VALUE")
        matches = [i for i, r in enumerate(plan) if r.name == target]
        if not matches:
            raise ValueError(f"--set {item!r}: no run named {target!r} in the plan ({', '.join(r.name for r in plan)})")
        for i in matches:
            plan[i] = replace(plan[i], overrides={**plan[i].overrides, key.strip(): parse_value(value.strip())})
    return plan


def smoke_overrides(spec: RunSpec) -> dict[str, Any]:
    """What a smoke run adds to a run's overrides."""
    extra = dict(SMOKE_OVERRIDES)
    if spec.recipe.startswith("srgan") or any(k.startswith("phases.gan.") for k in spec.overrides):
        extra.update(SMOKE_GAN)
    if spec.recipe == "photo" or spec.overrides.get("data.degradation") == "realistic":
        extra.update(SMOKE_PHOTO)
    return extra


def describe(plan: list[RunSpec]) -> list[dict[str, Any]]:
    """The plan as plain data (for the results)."""
    return [{**asdict(r), "init": list(r.init)} for r in plan]
