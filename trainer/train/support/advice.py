"""Turning a failed run into advice a user can act on (no Qt).

:func:`advise` reads the trainer's ``Error`` event (message and exception class name) and the run's
config, and returns an :class:`Advice`: a title, an explanation in plain words and the actions the
monitor offers as buttons (retry with a smaller batch, resume, switch to the pixel loss...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Action:
    """A button under the error: ``name`` is what the controller runs, ``label`` what it says."""

    name: str
    label: str


@dataclass(frozen=True)
class Advice:
    """What went wrong (``title``), what to do (``text``) and the offered ``actions``."""

    kind: str
    title: str
    text: str
    actions: tuple[Action, ...] = ()


def _has(message: str, *needles: str) -> bool:
    low = message.lower()
    return any(n in low for n in needles)


def advise(message: str, exc_type: str = "", config: Any = None, *, resumable: bool = False) -> Advice:
    """Advice for a run that failed with ``message`` (exception class ``exc_type``)."""
    batch = getattr(getattr(config, "data", None), "batch_size", 0)
    crop = getattr(getattr(config, "data", None), "crop", 0)
    scale = getattr(getattr(config, "data", None), "scale", 4)
    resume = (Action("resume", "Resume from the last checkpoint"),) if resumable else ()
    if exc_type == "OutOfMemoryError" or _has(message, "out of memory", "cannot allocate memory", "defaultcpuallocator"):
        actions = []
        if batch > 1:
            actions.append(Action("retry_batch", f"Retry with batch {max(1, batch // 2)}"))
        smaller = (crop * 3 // 4) // scale * scale
        if smaller >= 4 * scale:
            actions.append(Action("retry_crop", f"Retry with {smaller}×{smaller} crops"))
        return Advice("oom", "Out of memory",
                      f"The batch of {batch} crops of {crop}×{crop} pixels did not fit in the device's memory. "
                      "A smaller batch or a smaller crop needs less memory (a smaller batch trains a little noisier; "
                      "a smaller crop sees less context).", tuple(actions))
    if exc_type == "NonFiniteLoss" or _has(message, "nan/inf", "non-finite", "not finite"):
        return Advice("nan", "The losses became NaN",
                      "The numbers blew up (not-a-number losses for many steps in a row). This usually means the "
                      "learning rate is too high for this model, or half precision overflowed. Resume from the last "
                      "checkpoint with half the learning rate and full (fp32) precision.",
                      (Action("retry_lr", "Resume with half the learning rate, fp32"),) if resumable else ())
    if exc_type == "VGGWeightsMissing" or _has(message, "vgg19 imagenet weights"):
        return Advice("vgg", "VGG19 weights missing", message,
                      (Action("pixel_loss", "Start again with the pixel loss instead"),))
    if _has(message, "no space left", "disk full", "errno 28", "quota exceeded"):
        return Advice("disk", "The disk is full",
                      f"{message}\nFree some space on the disk that holds the run folder (old runs can be deleted from "
                      "the Training runs list), then resume: the last complete checkpoint is intact.", resume)
    if exc_type in ("DataError", "EvaluationError") or _has(message, "training folder", "validation folder", "no usable training images"):
        return Advice("data", "The training data cannot be used",
                      f"{message}\nCheck that the folder is still there (an unplugged disk?) and holds images, then "
                      "resume, or start a new run with another folder.", resume + (Action("new_run", "New run…"),))
    if exc_type == "CheckpointError":
        return Advice("checkpoint", "The run cannot be resumed", message, (Action("new_run", "New run…"),))
    return Advice("other", "Training stopped with an error",
                  f"{message}\nThe run folder keeps the log and the checkpoints written so far.", resume)
