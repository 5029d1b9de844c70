"""Network interpolation (Wang et al., ESRGAN 2018, section 3.4): one model between two.

``interpolate(psnr_model, gan_model, alpha)`` blends every floating-point parameter and buffer,
``(1 - alpha) * a + alpha * b``, of two models with the same architecture and hyperparameters (a
GAN fine-tuned from a PSNR-oriented network is the use it was made for). ``alpha`` walks the
perception-distortion trade-off continuously: 0 gives ``a`` (sharp edges, no texture, the higher
PSNR), 1 gives ``b`` (texture, possibly GAN artefacts), and the blend removes much of the GAN's
noise while keeping its detail, without training anything. Which ``alpha`` ships is a measured
choice (``scripts/interpolate_models.py`` applies the hold-out selection rule of docs/GAN_RECIPE.md).

With ``extrapolate=True`` alpha may go past 1 (up to :data:`MAX_EXTRAPOLATION`): ``a + alpha (b - a)``
moves on along the direction the GAN fine-tuning took, spending more PSNR on the texture it learned
(docs/GAN_RECIPE.md, eighteenth rule). Past 1 nothing keeps a BatchNorm running variance positive, so
the result is checked and refused if one is not.
"""

from __future__ import annotations

import copy

import torch

from trainer.loaded_model import LoadedModel


MAX_EXTRAPOLATION = 2.0  # past twice the fine-tuning step the model is a guess, not a measured direction


class InterpolationError(ValueError):
    """The two models cannot be blended (different architecture, hyperparameters or tensors)."""


def interpolate(a: LoadedModel, b: LoadedModel, alpha: float, extrapolate: bool = False) -> LoadedModel:
    """A new model ``(1 - alpha) * a + alpha * b`` with ``a``'s description (no source, metadata
    naming both parents and ``alpha``). Integer buffers (counters) are taken from ``a``.

    ``alpha`` must be in [0, 1], or in [0, :data:`MAX_EXTRAPOLATION`] with ``extrapolate``."""
    top = MAX_EXTRAPOLATION if extrapolate else 1.0
    if not 0.0 <= alpha <= top:
        raise InterpolationError(f"alpha must be in [0, {top:g}], got {alpha}"
                                 + ("" if extrapolate else " (past 1 needs extrapolation asked for)"))
    if (a.arch, dict(a.hparams)) != (b.arch, dict(b.hparams)):
        raise InterpolationError(
            f"different networks: {a.name} is {a.arch} {dict(a.hparams)}, {b.name} is {b.arch} {dict(b.hparams)}"
        )
    sa, sb = a.module.state_dict(), b.module.state_dict()
    if sa.keys() != sb.keys():
        raise InterpolationError(f"{a.name} and {b.name} hold different tensors")
    mixed = {}
    for key, ta in sa.items():
        tb = sb[key]
        if ta.shape != tb.shape:
            raise InterpolationError(f"{key}: shape {tuple(ta.shape)} in {a.name}, {tuple(tb.shape)} in {b.name}")
        if ta.is_floating_point():
            # In float32 whatever the storage: fp16 parents would lose the small differences.
            mixed[key] = torch.lerp(ta.float(), tb.float().to(ta.device), float(alpha)).to(ta.dtype)
        else:
            mixed[key] = ta.clone()
        if key.endswith("running_var") and alpha > 1.0 and not bool((mixed[key] > 0).all()):
            raise InterpolationError(f"{key}: extrapolating to alpha {alpha:g} makes a BatchNorm variance <= 0")
    module = copy.deepcopy(a.module)
    module.load_state_dict(mixed)
    module.eval()
    parents = {"a": str(a.source or a.name), "b": str(b.source or b.name), "alpha": float(alpha)}
    from dataclasses import replace

    return replace(a, module=module, source=None, metadata={**dict(a.metadata), "interpolated": parents})


def with_lattice_notch(model: LoadedModel, reference: LoadedModel, sigma: float) -> LoadedModel:
    """``model`` with the lattice notch against ``reference`` (``SRResNet.lattice_notch``): a new
    model whose output keeps ``reference``'s lattice-frequency component instead of its own.

    Both must be SRResNets of the same shape without a notch (typically a GAN blend and the MSE
    network it was blended with). The result carries both networks (twice the compute)."""
    from dataclasses import replace

    from trainer import models

    plain = {**dict(model.hparams), "lattice_notch": 0.0}
    if model.arch != "srresnet" or (reference.arch, {**dict(reference.hparams), "lattice_notch": 0.0}) != ("srresnet", plain):
        raise InterpolationError(
            f"the lattice notch needs two SRResNets of the same shape: {model.name} is {model.arch} {dict(model.hparams)}, "
            f"{reference.name} is {reference.arch} {dict(reference.hparams)}"
        )
    if model.hparams.get("lattice_notch") or reference.hparams.get("lattice_notch"):
        raise InterpolationError(f"{model.name} or {reference.name} already has a lattice notch")
    if sigma <= 0:
        raise InterpolationError(f"the notch window must be > 0 output pixels, got {sigma}")
    built = models.build_model("srresnet", **{**plain, "lattice_notch": float(sigma)})
    state = {**model.module.state_dict(), **{f"reference.{k}": v for k, v in reference.module.state_dict().items()}}
    built.module.load_state_dict(state)
    built.module.eval()
    notch = {"reference": str(reference.source or reference.name), "sigma": float(sigma)}
    return replace(built, metadata={**dict(model.metadata), "lattice_notch": notch})
