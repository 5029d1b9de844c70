"""Loading a reference network for a run: a model file that must hold the run's own generator network.

Two run options compare the generator with a fixed network of the same architecture: the deployed
form (``runtime.val_blend``, :mod:`trainer.train.deployed`) blends with it, the PSNR budget
(``pixel.budget_db``, :mod:`trainer.train.budget`) measures against it. Both need the file to exist
and to hold exactly the generator's network, and both must load it without touching the run's RNG
(building a network initialises weights), so a run that uses one trains as exactly as one that
does not, and resumes exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from trainer.loaded_model import LoadedModel


class ReferenceModelError(ValueError):
    """A reference model file is missing or holds another network than the generator."""


def load_same_network(path: str | Path, generator: LoadedModel, key: str, purpose: str,
                      device: torch.device | str = "cpu") -> LoadedModel:
    """The model file at ``path`` loaded on ``device`` (eval mode), checked to be ``generator``'s network.

    Args:
        key: the config field that named the file (for the message).
        purpose: what the file is for, e.g. ``"the PSNR model the GAN is blended with"``.

    Raises:
        ReferenceModelError: naming the file and the field.
    """
    import torch

    from trainer.modelfile import load_model

    path = Path(path).expanduser()
    if not path.is_file():
        raise ReferenceModelError(f"{path}: model file for {key} not found ({purpose})")
    with torch.random.fork_rng(devices=[]):  # building initialises weights: keep the run's RNG stream as it is
        reference = load_model(path, device=device)
    if (reference.arch, dict(reference.hparams)) != (generator.arch, dict(generator.hparams)):
        raise ReferenceModelError(
            f"{path}: {key} holds {reference.arch} {dict(reference.hparams)}, but the run trains "
            f"{generator.arch} {dict(generator.hparams)}; it must be the same network"
        )
    reference.module.eval().requires_grad_(False)
    return reference
