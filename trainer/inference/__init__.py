"""Inference engine: whole-image or tiled upscaling with progress events (Qt-free).

``Upscaler(model).run(image)`` yields :class:`TilesPlanned`, :class:`TileDone`... and a final
:class:`UpscaleFinished`; the CLI iterates it, the GUI runs it in a worker thread.
"""

from trainer.inference.engine import MAX_CONTEXT, Upscaler
from trainer.inference.events import (
    NonFiniteOutputError,
    TileDone,
    TilesPlanned,
    TileTooSmallError,
    UpscaleCancelled,
    UpscaleEvent,
    UpscaleFinished,
)

__all__ = [
    "MAX_CONTEXT",
    "NonFiniteOutputError",
    "TileDone",
    "TileTooSmallError",
    "TilesPlanned",
    "UpscaleCancelled",
    "UpscaleEvent",
    "UpscaleFinished",
    "Upscaler",
]
