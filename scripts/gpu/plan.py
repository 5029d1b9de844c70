"""Phase c's plan: which models to train, from which recipe and weights, with what share of the time.

The plan is data (a list of :class:`RunSpec`), so a better recipe can replace the default one
without touching the code: ``--plan FILE.json`` (a JSON list of objects with the fields below) or
``--set RUN:KEY=VALUE`` for one override (``--set srgan_x4:phases.gan.adversarial.weight=1e-2``).

Defaults, from the model cards in ``resources/models`` and docs/GAN_RECIPE.md:

* ``srresnet_rc_x4``: the base of a lattice-free GAN. Recipe ``srresnet`` with ``bicubic_skip =
  true`` and a resize-convolution upsampler (``model.upsampler = "bilinear_conv"``: tied sub-pixel
  kernels, every output position the same gain), started from the shipped pixel-shuffle
  ``srresnet_x4`` by a least-squares fit of its upsampler (Set5 31.45 -> 29.36 dB before any step,
  so it needs the steps); Adam 1.2e-4 at batch 16, cosine with 20 warm-up steps, EMA 0.995,
  validating on the GAN's 6 hold-out images (so a blend's hold-out is held out from both ends).
  Pixel-loss runs may take a larger batch (``scale_batch``) with the learning rate scaled by
  sqrt(batch / 16) when the probe finds it faster per sample (see :mod:`gpu.probe`). Why not the
  pixel-shuffle ``srresnet_x4`` again: its last GPU run gained 0.09 dB, and every GAN on a
  pixel-shuffle generator so far grew a grid (GPU run 1) or a dot lattice (``gan14``);
* ``srgan_x4``: issue 13's no-VGG recipe ``srgan-dfm`` (L1 + lattice + discriminator feature
  matching + relativistic adversarial with the U-Net SN discriminator on the high-pass view, sigma
  1.5; adversarial 1e-2; docs/GAN_RECIPE.md) exactly as ``gan21`` ran it on the CPU: cosine-decayed
  learning rates from 1e-4 for both networks, **batch 8**, EMA 0.99, fp32 (TF32 convolutions), from
  ``srresnet_rc_x4`` (this run's, else the shipped ``srresnet_x4`` fitted), validating on 6 held-out
  training images with NIQE (``data.holdout``, ``runtime.val_niqe``), as the selection rules want;
  each validation also measures the form that ships (``runtime.val_blend = "@init"``: blended 0.74
  with the SRResNet it starts from, notched against it; dropped when that is another network), so
  the run's results carry the stability figures issue 13 asks for. With ``gan31``'s PSNR budget
  (``pixel.budget_db = 0.25`` against the generator the phase starts from): on the CPU it held the
  raw generator over hold-out bicubic + 1.0 at every validation to step 3500 with NIQE falling
  (docs/GAN_RECIPE.md, session 20), so a GPU run of many more steps tests it where the CPU cannot.
  Here the reference runs on batch statistics (the default), which leaves the weights about 0.06 dB
  more room than ``gan31`` had (its hold-out sat 0.1 dB over the floor).
  Why batch 8: the second H200 session (2026-11-28) ran this recipe at batch 16 and grew a lattice
  every image shares (Set14 set grid 0.165, ``gan21`` at batch 8 about 0.10), and 4191 to 9866 steps
  there ended short of ``gan21``'s 10000 CPU steps on the hold-out's perception-distortion plane. The
  step is launch-bound on an H200 (17.8 steps/s at batch 16 against 18.0 under bf16 in the first
  session), so batch 8 costs no steps. ``series`` intermediate checkpoints are exported (fp16, each with
  its Set5 figures) so a selection rule can pick one back on the CPU; the 1.1 M-parameter
  discriminator (2.2 MB in fp16) travels with the run;
* ``srgan_lat_x4``: ``after`` ``srgan_x4``, its generator and discriminator fine-tuned with the
  per-crop lattice penalty (``pixel.lattice`` 20000, ``lattice_scope = "image"``) at 3e-5 cosine, as
  ``gan24`` followed ``gan23``: on the CPU that took the floor blend's Set14 grid from 0.176 to 0.146.

``photo_x4`` has no share since 2026-11-28: its CPU run converged (``photo_x4_c``) and a GPU run of
minutes did not move it (the first H200 session: Set5@web flat over 1599 steps); what it lacks needs a
larger network trained for longer. ``docs/gpu_runs/photo_grown_plan.json`` is that run, ready
(``--plan``): the shipped file grown to 32 residual blocks (the extra ones start as identities), run 4's
one-pass web history, hold-out@web validation (session 17 found 24 blocks no better in 2000 CPU steps,
so only many more steps can tell).
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
        after: continue this plan's earlier run of that name: its exported generator and (a GAN
            phase) its discriminator start this run, whatever ``init`` says (a fine-tune with other
            losses, as ``gan24`` followed ``gan23`` on the CPU). The run is skipped if that one did not
            finish.
    """

    name: str
    recipe: str
    overrides: dict[str, Any] = field(default_factory=dict)
    init: tuple[str, ...] = ()
    share: float = 1.0
    base_lr: float = 1e-4
    scale_batch: bool = False
    series: int = 0
    after: str = ""


# gan21's recipe (docs/GAN_RECIPE.md), shared by the GAN and its per-crop lattice fine-tune
_GAN = {"phases.0.iterations": 0, "data.batch_size": 8, "data.holdout": 6, "runtime.val_niqe": True,
        "runtime.precision": "fp32", "runtime.ema_decay": 0.99, "model.upsampler": "bilinear_conv",
        "phases.gan.adversarial.weight": 1e-2, "phases.gan.adversarial.high_pass": 1.5,
        "phases.gan.optimizer.schedule": "cosine", "phases.gan.discriminator.optimizer.schedule": "cosine"}

DEFAULT_PLAN: tuple[RunSpec, ...] = (
    RunSpec(
        name="srresnet_rc_x4", recipe="srresnet", init=("shipped:srresnet_x4",), share=0.15, base_lr=1.2e-4, scale_batch=True,
        overrides={"model.bicubic_skip": True, "model.upsampler": "bilinear_conv", "phases.0.optimizer.schedule": "cosine",
                   "phases.0.optimizer.warmup_steps": 20, "runtime.ema_decay": 0.995, "data.holdout": 6},
    ),
    RunSpec(
        name="srgan_x4", recipe="srgan-dfm", init=("run:srresnet_rc_x4", "shipped:srresnet_x4"), share=0.70, base_lr=1e-4, series=4,
        # every validation also measures the form that ships (blend 0.74 with the starting SRResNet, notched);
        # gan31's PSNR budget: 0.25 dB against the generator the GAN phase starts from
        overrides={**_GAN, "runtime.val_blend": "@init", "runtime.val_blend_alpha": 0.74, "runtime.val_blend_notch": 16.0,
                   "phases.gan.pixel.budget_db": 0.25, "phases.gan.pixel.budget_reference": "@start"},
    ),
    RunSpec(
        name="srgan_lat_x4", recipe="srgan-dfm", after="srgan_x4", share=0.15, base_lr=3e-5,
        overrides={**_GAN, "phases.gan.pixel.lattice": 20000.0, "phases.gan.pixel.lattice_scope": "image"},
    ),
)

# Smoke runs: the same plan on a generator and discriminator small enough for seconds on a CPU.
SMOKE_OVERRIDES = {
    "model.num_blocks": 1, "model.channels": 8, "data.crop": 32, "data.batch_size": 2, "data.val_max_images": 1,
    "runtime.threads": 1, "runtime.log_interval": 1,
}
SMOKE_GAN = {"phases.gan.discriminator.channels": 2, "phases.gan.adversarial.shift": 4}
SMOKE_PHOTO = {"data.realistic.kernel_sizes": [7]}  # and the first kernel type only (smoke_overrides)


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
    for i, r in enumerate(plan):
        if r.after and r.after not in {e.name for e in plan[:i]}:
            raise ValueError(f"run {r.name!r}: after={r.after!r} names no earlier run of the plan")
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
        types = spec.overrides.get("data.realistic.kernel_types") or _recipe_kernel_types(spec.recipe)
        extra["data.realistic.kernel_probs"] = [1.0] + [0.0] * (len(types) - 1)
    return extra


def _recipe_kernel_types(recipe: str) -> tuple[str, ...]:
    """The blur kernel types the run's recipe trains with when its plan entry does not set them."""
    from trainer.config import load_recipe

    return tuple(load_recipe(recipe).data.realistic.kernel_types)


def describe(plan: list[RunSpec]) -> list[dict[str, Any]]:
    """The plan as plain data (for the results)."""
    return [{**asdict(r), "init": list(r.init)} for r in plan]
