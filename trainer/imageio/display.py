"""Bit-depth and display conversions of image arrays (numpy only): the one place 16-bit becomes 8-bit.

16-bit to 8-bit is ``round(v / 257)`` (65535 / 255 = 257 exactly), computed in integers as
``(v + 128) // 257``; the bit depth is the dtype, never the values.

* :func:`to_uint8`: uint16 -> uint8 (uint8 unchanged), any layout;
* :func:`to_rgb_u8`: image pixels (HxWx1|3, uint8|uint16) as HxWx3 uint8 (training, evaluation);
* :func:`to_display_u8`: any image array with optional alpha as HxWx3 uint8 for the screen (alpha
  composited over a plain background).
"""

from __future__ import annotations

import numpy as np


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 rounded to nearest (65535 / 255 = 257 exactly); uint8 unchanged.

    Raises:
        TypeError: another dtype.
    """
    arr = np.asarray(arr)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype != np.uint16:
        raise TypeError(f"expected a uint8 or uint16 image, got {arr.dtype}")
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


def to_rgb_u8(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 C-contiguous uint8 from HxWx{1,3} uint8/uint16 pixels (``ImageData.pixels``; alpha is not
    part of them): 16-bit rounded to 8 bits, grey repeated into RGB."""
    pixels = to_uint8(pixels)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels)


def to_display_u8(pixels: np.ndarray, alpha: np.ndarray | None = None, background: int = 255) -> np.ndarray:
    """Any image array of the project (HxW, HxWx1, HxWx3, HxWx4; uint8 or uint16; optional alpha) as HxWx3 uint8.

    16-bit images are shown at 8 bits (rounded, not truncated); grey is repeated into RGB; alpha is
    composited over a plain ``background`` so transparent areas do not show their hidden colours.
    """
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    arr = to_uint8(arr)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4 and alpha is None:
        arr, alpha = arr[:, :, :3], arr[:, :, 3]
    if alpha is not None:
        a = np.asarray(alpha)
        a = a.astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0)
        comp = arr.astype(np.float32) * a[:, :, None] + background * (1.0 - a[:, :, None])
        arr = np.clip(np.rint(comp), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)
