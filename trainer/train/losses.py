"""Loss terms: pixel (MSE, L1, Charbonnier), VGG19 content, adversarial (vanilla, relativistic, WGAN-GP).

Every function returns a tensor attached to the graph (never a value rebuilt from Python floats,
which would silently train nothing). Losses are computed in fp32 even under autocast.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainer.config import LATTICE_SCOPES, AdversarialConfig, ContentLossConfig, PixelLossConfig
from trainer.train.realistic import apply_kernel, blur_kernel


def pixel_loss(sr: torch.Tensor, hr: torch.Tensor, cfg: PixelLossConfig) -> torch.Tensor:
    """Mean pixel loss between SR and HR (in fp32)."""
    sr, hr = sr.float(), hr.float()
    if cfg.type == "mse":
        return F.mse_loss(sr, hr)
    if cfg.type == "l1":
        return F.l1_loss(sr, hr)
    return torch.sqrt((sr - hr) ** 2 + cfg.eps**2).mean()  # Charbonnier: a smooth L1


def lattice_loss(sr: torch.Tensor, hr: torch.Tensor, scale: int, scope: str = "batch") -> torch.Tensor:
    """Checkerboard penalty: how much the mean error depends on the sub-pixel position.

    An x``scale`` pixel-shuffle generator makes each output pixel at one of ``scale**2`` positions
    ``(y mod scale, x mod scale)``; a GAN can learn a constant brightness offset per position (a
    fine grid that adds "detail" everywhere). This is the mean, over channels and positions, of
    the squared deviation of each position's mean error (SR - HR, over the batch) from the
    channel's overall mean error. Zero for any error that does not depend on the position; in
    [0, 1] units, so a 1-level (1/255) grid costs about 1.5e-5: weights are in the hundreds.

    ``scope="image"``: the same spread per crop (each crop's own per-position means), averaged over
    the batch. Pooling cancels a lattice whose sign follows the content (brighter at one position on
    one texture, darker on another); per crop it counts. Per crop the means of a 96-px crop also
    scatter without any lattice (the image's own error): that part's gradient is noise, and at large
    weights it outweighs the other terms (run ``gan25``, docs/GAN_RECIPE.md).
    """
    if scope not in LATTICE_SCOPES:
        raise ValueError(f"unknown lattice scope {scope!r} ({', '.join(LATTICE_SCOPES)})")
    n, c, h, w = sr.shape
    h, w = h - h % scale, w - w % scale
    err = (sr.float() - hr.float())[:, :, :h, :w]
    pooled = (0, 2, 4) if scope == "batch" else (2, 4)
    per_position = err.reshape(n, c, h // scale, scale, w // scale, scale).mean(dim=pooled)  # [N,] C, s, s
    return (per_position - per_position.mean(dim=(-2, -1), keepdim=True)).pow(2).mean()


# Energy floor (in [0, 1]^2 units: detail of ~2.5 levels) for the normalisation of flat crops.
_ENERGY_FLOOR = 1e-4


def phase_energies(x: torch.Tensor, scale: int, sigma: float = 1.0) -> torch.Tensor:
    """Fine-detail energy at each sub-pixel position: (N, C, s, s).

    The detail is ``x`` minus its Gaussian blur of ``sigma`` (:func:`high_pass`); this is its mean
    square at each of the ``scale x scale`` output positions.
    """
    n, c, h, w = x.shape
    h, w = h - h % scale, w - w % scale
    detail = high_pass(x.float()[:, :, :h, :w], sigma)
    return detail.pow(2).reshape(n, c, h // scale, scale, w // scale, scale).mean(dim=(2, 4))


def phase_energy_loss(sr: torch.Tensor, hr: torch.Tensor, scale: int, form: str = "excess") -> torch.Tensor:
    """Dot-lattice penalty: how much SR's fine-detail energy depends on the sub-pixel position,
    beyond how much HR's does.

    ``form="excess"`` (default): the energy of each position *above* SR's mean over the positions
    (relative to that mean), beyond HR's own relative excess there, squared. Zero when no position
    of the output carries more detail, relative to the others, than the ground truth's does; a
    generator that makes one position of its pixel-shuffle lattice brighter *or darker* than its
    neighbours (dots whose sign follows the content, which :func:`lattice_loss` cannot see) raises
    that position's energy and pays for it. Only the excess is penalised and the mean is held
    constant in the gradient, so the loss can only push the dotted position down.

    ``form="relative"``: the first form (run ``gan15``): SR's and HR's energies per position, each
    divided by its own mean over the positions (gradient through SR's mean), squared difference.
    Symmetric, so adding the same detail everywhere (grain) lowers it as well as removing the dots.

    Measured (docs/GAN_RECIPE.md): symmetric forms were lowered by raising the other positions
    instead (grain everywhere): runs with them lost 0.27 and 1.1 dB on Set14 in 500 steps.
    """
    if form not in ("excess", "relative"):
        raise ValueError(f"unknown phase_energy form {form!r} (excess, relative)")
    e_sr, e_hr = phase_energies(sr, scale), phase_energies(hr, scale).detach()
    if form == "relative":
        # As gan15 ran it: floor 1e-10, SR's mean inside the gradient.
        rel_sr = e_sr / e_sr.mean(dim=(2, 3), keepdim=True).clamp_min(1e-10)
        rel_hr = e_hr / e_hr.mean(dim=(2, 3), keepdim=True).clamp_min(1e-10)
        return (rel_sr - rel_hr).pow(2).mean()
    mean_sr = e_sr.mean(dim=(2, 3), keepdim=True).detach().clamp_min(_ENERGY_FLOOR)
    mean_hr = e_hr.mean(dim=(2, 3), keepdim=True).clamp_min(_ENERGY_FLOOR)
    # Each excess relative to its own image's mean: bounded (at most scale**2 - 1), so a flat HR crop
    # cannot blow the term up (in units of HR's energy it did: gan17 lost 1.3 dB in 500 steps).
    return torch.relu((e_sr - mean_sr) / mean_sr - (e_hr - mean_hr) / mean_hr).pow(2).mean()


RANDOM_VGG_WARNING = (
    "content.vgg_weights = 'random': the VGG content loss uses UNTRAINED VGG19 weights. This is only "
    "meaningful for benchmarks and tests; a model trained this way is not an SRGAN."
)


class ContentLoss(nn.Module):
    """Distance between VGG19 features of SR and HR (``layers`` averaged), in fp32 with ImageNet
    normalisation (inside :class:`trainer.vgg.VGGFeatures`). HR features need no gradient.

    Raises ``trainer.vgg.VGGWeightsMissing`` at construction when the weights are not available.
    """

    def __init__(self, cfg: ContentLossConfig) -> None:
        super().__init__()
        from trainer.vgg import VGGFeatures

        weights = None if cfg.vgg_weights == "random" else cfg.vgg_weights  # the loop warns loudly
        self.vgg = VGGFeatures(cfg.layers, weights=weights)
        self.vgg.requires_grad_(False)
        self.criterion = F.mse_loss if cfg.criterion == "mse" else F.l1_loss

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.vgg(hr)
        feats = self.vgg(sr)
        losses = [self.criterion(feats[name].float(), target[name].float()) for name in feats]
        return torch.stack(losses).mean()


class AdversarialLoss:
    """The generator and discriminator sides of one GAN objective on raw logits.

    ``vanilla``: BCE (SRGAN). ``relativistic``: relativistic average GAN (ESRGAN); the generator
    side also needs the real logits. ``wgan-gp``: Wasserstein critic scores; the gradient penalty
    is :func:`gradient_penalty`.
    """

    def __init__(self, cfg: AdversarialConfig) -> None:
        self.type = cfg.type
        self.gp_weight = cfg.gp_weight

    def generator(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """Generator loss from the discriminator's logits on SR (and on HR, detached, if relativistic)."""
        fake = fake.float()
        if self.type == "vanilla":
            return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
        if self.type == "wgan-gp":
            return -fake.mean()
        assert real is not None, "the relativistic loss needs the real logits"
        real = real.float().detach()
        return 0.5 * (
            F.binary_cross_entropy_with_logits(real - fake.mean(), torch.zeros_like(real))
            + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.ones_like(fake))
        )

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named discriminator loss terms (summed for the update) from logits on HR and detached SR."""
        real, fake = real.float(), fake.float()
        if self.type == "vanilla":
            return {
                "d_real": F.binary_cross_entropy_with_logits(real, torch.ones_like(real)),
                "d_fake": F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
            }
        if self.type == "wgan-gp":
            return {"d_real": -real.mean(), "d_fake": fake.mean()}
        return {
            "d_real": 0.5 * F.binary_cross_entropy_with_logits(real - fake.mean(), torch.ones_like(real)),
            "d_fake": 0.5 * F.binary_cross_entropy_with_logits(fake - real.mean(), torch.zeros_like(fake)),
        }


def high_pass(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``x`` (N, C, H, W) minus its Gaussian blur of ``sigma`` pixels (``ceil(3 sigma)`` taps each
    side, reflected borders), per channel: the detail a discriminator with ``adversarial.high_pass``
    judges. A constant image gives zeros. The blur is the realistic degradation's isotropic kernel."""
    radius = max(1, math.ceil(3.0 * sigma))
    return x - apply_kernel(x, blur_kernel("iso", 2 * radius + 1, sigma))


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad_x D(x)||_2 - 1)^2]`` on random interpolates, in fp32."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (alpha * real.float() + (1.0 - alpha) * fake.float()).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        scores = critic(mixed).float()
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def feature_matching_loss(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Mean over levels of the L1 distance between the discriminator's features of SR and of HR
    (HR's detached: the target). Each level is normalised by its mean absolute HR activation so
    that the deep, small maps count as much as the first full-size one."""
    terms = []
    for f, r in zip(fake_feats, real_feats):
        r = r.detach().float()
        terms.append((f.float() - r).abs().mean() / (r.abs().mean() + 1e-6))
    return torch.stack(terms).mean()
