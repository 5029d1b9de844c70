"""The form a GAN generator ships in, measured while it trains (``runtime.val_blend``).

docs/GAN_RECIPE.md does not ship a GAN generator as it comes out of training: it ships the network
interpolation ``(1 - a) * psnr_model + a * gan`` (ESRGAN's, :func:`trainer.interpolate.interpolate`),
optionally with the lattice notch against the PSNR model (:func:`trainer.interpolate.with_lattice_notch`).
A PSNR floor that has to hold "at every validation" is a floor on that form, so the trainer can
validate it next to the raw EMA generator: :class:`DeployedForm` builds it from the current EMA
weights at each validation (a copy; training is untouched).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainer.train.reference import ReferenceModelError, load_same_network

if TYPE_CHECKING:
    import torch
    from torch import nn

    from trainer.config import TrainingConfig
    from trainer.loaded_model import LoadedModel


class DeployedFormError(ReferenceModelError):
    """``runtime.val_blend`` names a file that is missing or does not match the generator."""


@dataclass(frozen=True)
class DeployedForm:
    """``(1 - alpha) * reference + alpha * generator``, notched against ``reference`` when ``notch`` > 0."""

    reference: LoadedModel
    alpha: float
    notch: float = 0.0

    @classmethod
    def from_config(cls, config: TrainingConfig, generator: LoadedModel, device: torch.device | str = "cpu") -> DeployedForm | None:
        """The deployed form ``config.runtime`` asks for (None without ``val_blend``), its reference
        loaded on ``device`` and checked against ``generator`` (the run's, described).

        Raises:
            DeployedFormError: the file is missing, or holds another network than the generator.
        """
        rt = config.runtime
        if not rt.val_blend:
            return None
        try:
            reference = load_same_network(rt.val_blend, generator, "runtime.val_blend",
                                          "the PSNR model the GAN is blended with", device)
        except ReferenceModelError as exc:
            raise DeployedFormError(str(exc)) from None
        if rt.val_blend_notch and reference.arch != "srresnet":
            raise DeployedFormError(f"runtime.val_blend_notch: the lattice notch is for SRResNets, the run trains {reference.arch}")
        return cls(reference, float(rt.val_blend_alpha), float(rt.val_blend_notch))

    def label(self) -> str:
        """``"blend 0.74 with srresnet_rc_x4, notch 16"``: what the log line says was measured."""
        name = self.reference.source.stem if self.reference.source is not None else "reference"
        return f"blend {self.alpha:g} with {name}" + (f", notch {self.notch:g}" if self.notch else "")

    def build(self, generator: LoadedModel) -> nn.Module:
        """The deployed network for the generator's current weights (new tensors; eval mode)."""
        import torch

        from trainer.interpolate import interpolate, with_lattice_notch

        # Building the notched network initialises (then overwrites) weights: on a forked RNG, so a
        # run that validates its deployed form trains exactly as one that does not (resume stays exact).
        with torch.random.fork_rng(devices=[]):
            mixed = interpolate(self.reference, generator, self.alpha)
            if self.notch:
                mixed = with_lattice_notch(mixed, self.reference, self.notch)
        device = next(self.reference.module.parameters()).device
        return mixed.module.to(device).eval()
