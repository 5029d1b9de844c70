"""Data types of the image I/O layer: :class:`ImageData`, its errors, alpha premultiplication.

Import them from ``trainer.imageio``. The errors derive from :class:`trainer.errors.FileError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.errors import FileError


class ImageReadError(FileError):
    """An image file could not be read. ``path`` and ``reason``; ``str()`` is ``"PATH: reason"``."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason)


class ImageWriteError(FileError):
    """An image file could not (or must not) be written. Same ``path``/``reason`` shape as ImageReadError."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason)


@dataclass
class ImageData:
    """Decoded image: straight colour + optional alpha + the metadata a saved output keeps.

    ``pixels`` HxWx3 (RGB) or HxWx1 (grey), ``uint8`` or ``uint16`` (an HxW array is accepted and
    stored as HxWx1); ``alpha`` HxW of the same dtype or None; ``mode`` the source mode (derived
    from the arrays when left empty); ``format`` the source format ("PNG", "JPEG", ...);
    ``icc_profile``/``exif`` raw bytes; ``dpi`` (x, y); ``source`` the file it was read from (never
    overwritten by :func:`save_image`); ``palette_transparency`` True when it came from a palette
    image with transparency (the output is RGBA, not a palette).
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    mode: str = ""
    format: str | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    dpi: tuple[float, float] | None = None
    source: Path | None = None
    palette_transparency: bool = False

    def __post_init__(self) -> None:
        px = np.asarray(self.pixels)
        if px.ndim == 2:
            px = px[:, :, None]
        if px.ndim != 3 or px.shape[2] not in (1, 3):
            raise ValueError(f"pixels must be HxWx3 (RGB) or HxWx1 (grey), got shape {px.shape}")
        if px.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"pixels must be uint8 or uint16, got {px.dtype}")
        self.pixels = px
        if self.alpha is not None:
            a = np.asarray(self.alpha)
            if a.ndim == 3 and a.shape[2] == 1:
                a = a[:, :, 0]
            if a.shape != px.shape[:2] or a.dtype != px.dtype:
                raise ValueError(f"alpha must be {px.shape[:2]} {px.dtype}, got {a.shape} {a.dtype}")
            self.alpha = a
        if not self.mode:
            base = "L" if px.shape[2] == 1 else "RGB"
            base += "A" if self.alpha is not None else ""
            self.mode = base if px.dtype == np.uint8 else ("I;16" if base == "L" else base + ";16")
        if self.source is not None:
            self.source = Path(self.source)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_grey(self) -> bool:
        return self.pixels.shape[2] == 1

    @property
    def bit_depth(self) -> int:
        """8 or 16, from the dtype."""
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def has_alpha(self) -> bool:
        return self.alpha is not None


def _unit_float(a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind in "ui":
        return arr.astype(np.float32) / np.float32(np.iinfo(arr.dtype).max)
    return np.clip(arr.astype(np.float32, copy=False), 0.0, 1.0)


def premultiply(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Straight colour (uint8/uint16/float HxWxC or HxW) times alpha -> float32 HxWxC in [0, 1].

    Integer inputs are scaled by their dtype's full range. ``alpha`` None means opaque.
    Upscaling premultiplied colour keeps transparent pixels' hidden colour from bleeding into edges.
    """
    colour = _unit_float(pixels)
    if colour.ndim == 2:
        colour = colour[:, :, None]
    if alpha is None:
        return colour
    a = _unit_float(alpha)
    if a.ndim == 3:
        a = a[:, :, 0]
    return colour * a[:, :, None]


def unpremultiply(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Premultiplied float colour HxWxC and float alpha (HxW or HxWx1) -> straight float32 in [0, 1].

    Where alpha is 0 the colour is 0 (nothing to divide); results are clipped to [0, 1] because an
    upscaler can produce colour slightly above its (also upscaled) alpha.
    """
    c = np.asarray(colour, dtype=np.float32)
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    if c.ndim == 2:
        c = c[:, :, None]
    out = np.zeros(np.broadcast_shapes(c.shape, a.shape), dtype=np.float32)
    np.divide(c, a, out=out, where=a > 0)
    return np.clip(out, 0.0, 1.0, out=out)
