"""Events yielded by :meth:`trainer.inference.Upscaler.run`, and its exceptions.

Events are frozen dataclasses so a GUI worker can hand them across threads as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer.imageio import ImageData


@dataclass(frozen=True)
class TilesPlanned:
    """The image was split into ``total`` tiles of ``tile_size`` input pixels (0 = whole image).

    Sent again, with the new plan, when a tile ran out of memory and the tile size was halved; an
    RGBA image counts its alpha tiles too (alpha is upscaled in its own pass).
    """

    total: int
    tile_size: int


@dataclass(frozen=True)
class TileDone:
    """``done`` of ``total`` tiles are finished."""

    done: int
    total: int


@dataclass(frozen=True)
class UpscaleFinished:
    """The last event: the upscaled ``image``, wall time, final tile size, the device used and the
    precision that ran (``fp32``, ``fp16``, ``bf16``: after any fallback to fp32) and the backend
    that ran the network (``torch`` or ``openvino``)."""

    image: ImageData
    seconds: float
    tile_size: int
    device: str
    precision: str = "fp32"
    backend: str = "torch"


UpscaleEvent = TilesPlanned | TileDone | UpscaleFinished


class UpscaleCancelled(Exception):
    """The cancel event was set; raised between tiles or before a layer of the forward, no partial
    image is returned."""


class TileTooSmallError(RuntimeError):
    """Even the smallest allowed tile ran out of memory on the device."""


class NonFiniteOutputError(RuntimeError):
    """The model produced NaN or infinite values for this image (in fp32): no result is written,
    since they would be quantised to black."""
