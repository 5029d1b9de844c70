"""Cancel inside a forward pass: a check before every ``nn.Module`` call of this thread.

The tiling engine adds such checks to its own copy of the model (:mod:`trainer.inference.engine`);
:func:`cancellable_forward` does the same for a network run by other code (``srgan-eval``'s
whole-image function, used by the app's evaluation mode), without access to the module: while the
block runs, a process-wide forward pre-hook checks this thread's cancel event. Other threads, and
code outside the block, are not affected (the hook reads a thread-local). Qt-free.

:func:`forward_listener` is the other use of the engine's per-layer checks: how far the forward pass
of the current tile has got, for a progress bar that moves inside a one-tile image.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from torch import nn

from trainer import live
from trainer.inference.events import UpscaleCancelled

_FORWARD = "forward_progress"  # trainer.live's channel for the share of a forward pass done

_LOCAL = threading.local()


def _check(_module: nn.Module, _inputs: object) -> None:
    cancel = getattr(_LOCAL, "cancel", None)
    if cancel is not None and cancel.is_set():
        raise UpscaleCancelled("upscale cancelled")


@contextmanager
def cancellable_forward(cancel: threading.Event | None) -> Iterator[None]:
    """Within the block, any module forward run by this thread raises :class:`UpscaleCancelled`
    once ``cancel`` is set (checked before each layer; also at entry)."""
    if cancel is None:
        yield
        return
    if cancel.is_set():
        raise UpscaleCancelled("upscale cancelled")
    previous = getattr(_LOCAL, "cancel", None)
    _LOCAL.cancel = cancel
    handle = nn.modules.module.register_module_forward_pre_hook(_check)
    try:
        yield
    finally:
        handle.remove()
        _LOCAL.cancel = previous


def current_cancel() -> threading.Event | None:
    """The cancel event of this thread's :func:`cancellable_forward` block (None outside one): for a
    forward that runs outside PyTorch (OpenVINO) and checks the event itself."""
    return getattr(_LOCAL, "cancel", None)


def report_forward(fraction: float) -> None:
    """Called by the engine's per-layer checks: the share of the current forward pass done."""
    live.post(fraction, _FORWARD)


def forward_listener(callback: Callable[[float], None]) -> AbstractContextManager[None]:
    """Within the block, ``callback(fraction)`` is called (in this thread) as a forward pass of the
    tiling engine advances: about 20 times per tile, so one big tile does not look frozen."""
    return live.sink(callback, _FORWARD)
