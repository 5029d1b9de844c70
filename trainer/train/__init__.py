"""Qt-free training core: ``train(config) -> Iterator[Event]`` and its parts.

See :mod:`trainer.train.loop` for the loop, :mod:`trainer.train.events` for the events and the
control object, :mod:`trainer.config` for the configuration and recipes.

The names below are imported on first use, so that importing a light module of this package
(``trainer.train.support``: runs listing, config drafts, used by the desktop app at start-up;
``holdout``, ``events``) does not import the loop and torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EVENTS = (
    "CheckpointSaved", "Error", "Event", "Finished", "ModelExported", "Notice", "Paused", "PhaseChanged", "Resumed",
    "RunStarted", "SampleCrops", "TrainStep", "TrainingControl", "Validation",
)
_LOOP = ("TrainingFailed", "run_training", "train")
__all__ = [*_EVENTS, *_LOOP]

if TYPE_CHECKING:  # pragma: no cover
    from trainer.train.events import (  # noqa: F401
        CheckpointSaved, Error, Event, Finished, ModelExported, Notice, Paused, PhaseChanged, Resumed, RunStarted,
        SampleCrops, TrainingControl, TrainStep, Validation,
    )
    from trainer.train.loop import TrainingFailed, run_training, train  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _EVENTS:
        return getattr(importlib.import_module("trainer.train.events"), name)
    if name in _LOOP:
        return getattr(importlib.import_module("trainer.train.loop"), name)
    raise AttributeError(f"module 'trainer.train' has no attribute {name!r}")
