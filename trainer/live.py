"""Events from inside a long step: a per-thread sink that a runner installs around a job.

A job's generator can only report between its yields; a whole-image forward pass can take seconds
with no yield in between. Code running inside such a step calls :func:`post` with an event; the
runner of the job (the GUI's worker) has installed a sink for its thread with :func:`sink` and
delivers the event as if the job had yielded it. Without a sink (the CLI), :func:`post` does
nothing. ``channel`` keeps independent sinks apart on one thread (the inference engine's
in-forward progress uses its own, :mod:`trainer.inference.cancel`). Standard library only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_LOCAL = threading.local()


def post(event: Any, channel: str = "events") -> None:
    """Deliver ``event`` to this thread's sink of ``channel``, if one is installed."""
    deliver = getattr(_LOCAL, channel, None)
    if deliver is not None:
        deliver(event)


@contextmanager
def sink(deliver: Callable[[Any], None], channel: str = "events") -> Iterator[None]:
    """Within the block, :func:`post` from this thread to ``channel`` calls ``deliver(event)``."""
    previous = getattr(_LOCAL, channel, None)
    setattr(_LOCAL, channel, deliver)
    try:
        yield
    finally:
        setattr(_LOCAL, channel, previous)
