"""A network together with what is known about it: :class:`LoadedModel`.

The model zoo (``trainer.zoo.load``), ``trainer.modelfile.load_model`` and
``trainer.models.describe`` return one; ``trainer.inference.Upscaler``, ``trainer.evaluation.model_upscale_fn``
and ``trainer.modelfile.save_model`` take one. Nothing is patched onto the ``nn.Module``: the
module is plain PyTorch, and its architecture, hyperparameters, scale and file metadata travel next
to it here. Torch-free at import (the desktop app imports this module for its type hints).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Mapping

if TYPE_CHECKING:
    import torch
    from torch import nn

Kind = Literal["generator", "discriminator"]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A network and its description.

    Attributes:
        module: the ``nn.Module`` (eval mode and float32 when it comes from a file).
        arch: registry name (``"srresnet"``, ...), or a free name for a network from elsewhere.
        hparams: every hyperparameter it was built with (defaults filled in; read-only).
        scale: output/input size ratio of a generator; None for a discriminator.
        kind: ``"generator"`` (LR in, SR out) or ``"discriminator"``.
        channels: image channels in and out (3: RGB).
        source: the model file it was read from; None for a network built in memory.
        metadata: the model file's metadata (``{}`` for a ``.pth`` or a network built in memory; read-only).
        receptive_field: receptive-field radius in input pixels when known (None: the inference
            engine measures it).
        precisions: the precisions the model is known to run in (``"fp32"``, ``"fp16"``, ``"bf16"``);
            None: not known (the engine probes).
        backend: what runs the module (``"torch"``).
    """

    module: nn.Module
    arch: str
    hparams: Mapping[str, Any] = field(default_factory=dict)
    scale: int | None = None
    kind: Kind = "generator"
    channels: int = 3
    source: Path | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    receptive_field: float | None = None
    precisions: tuple[str, ...] | None = None
    backend: str = "torch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hparams", _frozen(self.hparams))
        object.__setattr__(self, "metadata", _frozen(self.metadata))
        if self.source is not None:
            object.__setattr__(self, "source", Path(self.source))

    @property
    def name(self) -> str:
        """A short name: the model file's stem, else the architecture."""
        return self.source.stem if self.source is not None else self.arch

    def with_module(self, module: nn.Module) -> LoadedModel:
        """The same description around another module (a moved, cast or optimised copy)."""
        return replace(self, module=module)

    def to(self, device: str | torch.device) -> LoadedModel:
        """The model on ``device`` (``nn.Module.to`` moves the module in place; same description)."""
        return self.with_module(self.module.to(device))
