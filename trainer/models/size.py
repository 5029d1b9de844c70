"""How much memory a network needs, from its architecture and hyperparameters, before it is built.

A model file is data: its metadata may ask for 10^6 residual blocks or 10^6 channels, which would
spend minutes and gigabytes (or terabytes) building the network before anything else could say no.
:func:`estimate` works it out without allocating: the network is built on PyTorch's ``meta``
device (shapes only) with *small* values of the large hyperparameters, and the parameter count
and peak activation are interpolated to the requested values. Every registered architecture's
parameter count is a polynomial of degree at most 2 in each integer hyperparameter (blocks are
linear, channels quadratic), so three sample values per large hyperparameter give it exactly
(``tests/trainer/test_hardening.py`` compares with real networks). :func:`check_size` refuses what
cannot fit this machine's memory with one line (:class:`ModelTooLargeError`); ``build`` calls it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Hyperparameters up to this value are built (on the meta device) as they are: small enough.
SMALL = 64
# Sample values of a large hyperparameter: any three give the polynomial; values this size keep the
# same layer the largest as at full size, so the peak activation interpolates too.
_SAMPLES = (16, 24, 32)
# The probe input: a minimal tile with context, the smallest the inference engine ever runs.
PROBE_SIDE = 64
BYTES = 4  # float32
# Loading holds the file's tensors and the built module at once; inference keeps a few activations.
_WEIGHT_COPIES = 2
_LIVE_ACTIVATIONS = 3
# Hyperparameters that are not sizes (never interpolated).
_NOT_SIZES = ("scale", "in_channels", "pool_size")


class ModelTooLargeError(ValueError):
    """The network described cannot fit this machine's memory (the message says how large it is)."""


@dataclass(frozen=True)
class SizeEstimate:
    """``params``: parameters and buffers (elements); ``activation``: the largest single layer output
    (elements) for a ``PROBE_SIDE`` input; ``bytes``: memory to load and run it."""

    params: int
    activation: int

    @property
    def bytes(self) -> int:
        return BYTES * (_WEIGHT_COPIES * self.params + _LIVE_ACTIVATIONS * self.activation)


def machine_memory() -> int:
    """Bytes of physical memory of this machine (8 GB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _measure(name: str, hparams: Mapping[str, Any]) -> tuple[int, int]:
    import torch

    from trainer.models.registry import get

    hp = dict(hparams)
    if "vgg_weights" in hp:
        hp["vgg_weights"] = "random"  # never read or download weights to count them
    spec = get(name)
    peak = 0

    def hook(_module, _inputs, output) -> None:
        nonlocal peak
        if isinstance(output, torch.Tensor):
            peak = max(peak, output.numel())

    with torch.device("meta"):
        module = spec.factory(**hp)
        count = sum(t.numel() for t in itertools.chain(module.parameters(), module.buffers()))
        handles = [m.register_forward_hook(hook) for m in module.modules() if not list(m.children())]
        try:
            with torch.no_grad():
                module(torch.empty(1, 3, PROBE_SIDE, PROBE_SIDE))
        except Exception:  # noqa: BLE001 - a network that cannot run on meta: its weights are counted
            pass
        finally:
            for h in handles:
                h.remove()
    return int(count), int(peak)


def _lagrange(xs: tuple[int, ...], x: int) -> list[float]:
    weights = []
    for i, xi in enumerate(xs):
        w = 1.0
        for j, xj in enumerate(xs):
            if j != i:
                w *= (x - xj) / (xi - xj)
        weights.append(w)
    return weights


def large_hparams(hparams: Mapping[str, Any]) -> dict[str, int]:
    """The integer size hyperparameters above :data:`SMALL` (the ones worth estimating)."""
    return {
        k: int(v) for k, v in hparams.items()
        if isinstance(v, int) and not isinstance(v, bool) and k not in _NOT_SIZES and v > SMALL
    }


def estimate(name: str, hparams: Mapping[str, Any]) -> SizeEstimate:
    """Parameters and peak activation of ``name`` built with ``hparams`` (complete: defaults filled)."""
    large = large_hparams(hparams)
    if not large:
        return SizeEstimate(*_measure(name, hparams))
    keys = sorted(large)
    params = activation = 0.0
    for combo in itertools.product(range(len(_SAMPLES)), repeat=len(keys)):
        weight = 1.0
        sample = dict(hparams)
        for key, i in zip(keys, combo):
            weight *= _lagrange(_SAMPLES, large[key])[i]
            sample[key] = _SAMPLES[i]
        p, a = _measure(name, sample)
        params += weight * p
        activation += weight * a
    return SizeEstimate(max(0, round(params)), max(0, round(activation)))


def check_size(name: str, hparams: Mapping[str, Any], *, memory: int | None = None) -> SizeEstimate | None:
    """Refuse ``name`` with ``hparams`` (complete) when it cannot fit ``memory`` (default: this
    machine's). Cheap: hyperparameters all up to :data:`SMALL` are not even estimated (None).

    Raises:
        ModelTooLargeError: one line with the parameter count, the memory needed and available.
    """
    large = large_hparams(hparams)
    if not large:
        return None
    est = estimate(name, hparams)
    limit = machine_memory() if memory is None else memory
    if est.bytes > limit:
        what = ", ".join(f"{k}={v}" for k, v in sorted(large.items()))
        raise ModelTooLargeError(
            f"{name} with {what} is too large for this machine: about {_count(est.params)} parameters, "
            f"{_gb(est.bytes)} of memory needed to load and run it, {_gb(limit)} here"
        )
    return est


def _count(n: int) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _gb(n: int) -> str:
    return f"{n / 2**30:.3g} GB" if n < 2**50 else f"{n / 2**40:.3g} TB"
