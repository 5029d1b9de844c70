"""Explicit, duplicate-checked registry of network architectures.

Every architecture the project supports is registered once, in ``trainer/models/__init__.py``.
The training wizard, the CLIs and the model-file loader all read their lists from here, so a
network that is not registered cannot be trained, saved or loaded by name.
"""

from __future__ import annotations

import builtins
import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from torch import nn

from trainer.loaded_model import Kind, LoadedModel


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture.

    Attributes:
        name: registry key, recorded in every model file.
        factory: callable taking keyword-only hyperparameters and returning an ``nn.Module``.
        kind: ``"generator"`` (LR in, SR out) or ``"discriminator"`` (image in, logits out).
        description: one line for the wizard and ``--help`` texts.
    """

    name: str
    factory: Callable[..., nn.Module]
    kind: Kind
    description: str = ""

    def defaults(self) -> dict[str, Any]:
        """Keyword-only hyperparameters of the factory with their default values."""
        sig = inspect.signature(self.factory)
        return {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
        }


_REGISTRY: dict[str, ArchSpec] = {}


def register(name: str, factory: Callable[..., nn.Module], *, kind: Kind, description: str = "") -> ArchSpec:
    """Register ``factory`` under ``name``; a duplicate name is an error (never a silent override)."""
    if name in _REGISTRY:
        raise ValueError(f"architecture {name!r} is already registered")
    if kind not in ("generator", "discriminator"):
        raise ValueError(f"kind must be 'generator' or 'discriminator', not {kind!r}")
    sig = inspect.signature(factory)
    positional = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if positional:
        raise ValueError(f"{name!r}: hyperparameters must be keyword-only, got positional {positional}")
    spec = ArchSpec(name=name, factory=factory, kind=kind, description=description)
    _REGISTRY[name] = spec
    return spec


def get(name: str) -> ArchSpec:
    """Return the spec registered as ``name``; unknown names list the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def list(kind: Kind | None = None) -> builtins.list[str]:  # noqa: A001 - the issue names this API `list`
    """Registered names, sorted, optionally only one kind."""
    return sorted(n for n, s in _REGISTRY.items() if kind is None or s.kind == kind)


def full_hparams(name: str, hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every hyperparameter of ``name``: its defaults with ``hparams`` over them (unknown keys are an error)."""
    defaults = get(name).defaults()
    given = dict(hparams or {})
    unknown = set(given) - set(defaults)
    if unknown:
        raise TypeError(f"{name!r} has no hyperparameter(s) {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **given}


def build(name: str, **hparams: Any) -> nn.Module:
    """Build ``name`` with ``hparams`` (unknown keys are an error); a plain ``nn.Module``.

    A network that cannot fit this machine's memory is refused before it is built
    (:class:`trainer.models.size.ModelTooLargeError`, a ``ValueError``; see :mod:`trainer.models.size`).

    :func:`describe` (or :func:`build_model`) pairs it with its architecture and hyperparameters,
    which is what a model file records.
    """
    full = full_hparams(name, hparams)
    from trainer.models.size import check_size  # imports torch's meta device only when needed

    check_size(name, full)  # ModelTooLargeError (a ValueError) before minutes and gigabytes are spent
    return get(name).factory(**full)


def describe(
    module: nn.Module,
    name: str,
    hparams: Mapping[str, Any] | None = None,
    *,
    source: str | os.PathLike | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> LoadedModel:
    """``module`` (built as ``name`` with ``hparams``) with its description: a :class:`LoadedModel`.

    ``hparams`` are completed with the defaults, so the description records exactly what was built.
    """
    spec = get(name)
    full = full_hparams(name, hparams)
    scale = full.get("scale") if spec.kind == "generator" else None
    return LoadedModel(
        module=module, arch=name, hparams=full, scale=None if scale is None else int(scale), kind=spec.kind,
        source=None if source is None else Path(source), metadata=dict(metadata or {}),
    )


def build_model(name: str, **hparams: Any) -> LoadedModel:
    """:func:`build` and :func:`describe` in one: a new network ``name`` with its description."""
    return describe(build(name, **hparams), name, hparams)
