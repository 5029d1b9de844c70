"""Blockiness: how much an upscaled JPEG's 8x8 block grid stands out (``shared/docs/PROTOCOL.md``).

A JPEG-compressed LR image has its luma blocks on an 8-pixel grid; in the x``scale`` output that
grid lies every ``8 * scale`` pixels (32 for x4), boundaries between output columns (rows)
``c - 1`` and ``c`` for every ``c`` that is a positive multiple of ``8 * scale``. Blockiness is the
mean absolute Y step across those boundaries divided by the mean absolute Y step between all other
neighbouring pixels, horizontal and vertical steps pooled together. About 1.0 for images without
blocks, higher when a method keeps (or sharpens) the JPEG blocks.

Conventions, kept the same as the other metrics: Y is the protocol's (BT.601 studio range, not
rounded, :func:`trainer.metrics.rgb_to_y`), and ``scale`` pixels are shaved from every side (only
steps between two kept pixels count) while the grid stays anchored at the *unshaved* image's
top-left corner, where the JPEG blocks of the LR image start.
"""

from __future__ import annotations

import math

import numpy as np

from trainer.metrics import rgb_to_y

JPEG_BLOCK = 8  # luma block of the LR image; 4:2:0 chroma blocks (16) lie on the same grid


def _steps(y: np.ndarray, axis: int, period: int, border: int) -> tuple[float, int, float, int]:
    """``(grid_sum, grid_count, other_sum, other_count)`` of absolute steps along ``axis``."""
    d = np.abs(np.diff(y, axis=axis))
    n = y.shape[axis]
    # Step j lies between pixels j and j + 1; keep it when both are outside the shaved border.
    j = np.arange(n - 1)
    inside = (j >= border) & (j + 1 < n - border)
    on_grid = (j + 1) % period == 0
    other_axis = 1 - axis
    m = y.shape[other_axis]
    rows = slice(border, m - border)
    d = d[:, rows] if axis == 0 else d[rows, :]
    per_step = d.sum(axis=other_axis)  # sum over the other axis, one value per step position
    count = d.shape[other_axis]
    grid, other = inside & on_grid, inside & ~on_grid
    return (float(per_step[grid].sum()), int(grid.sum()) * count, float(per_step[other].sum()), int(other.sum()) * count)


def blockiness(img_u8: np.ndarray, scale: int, *, shave: int | None = None) -> float:
    """Blockiness of an upscaled (x ``scale``) uint8 RGB or grey image; ``shave`` defaults to ``scale``.

    Returns ``nan`` when the shaved image contains no grid boundary (smaller than about
    ``8 * scale`` pixels), ``1.0`` for a constant image, ``inf`` for flat blocks with steps only on
    the grid.
    """
    border = scale if shave is None else shave
    if scale < 1 or border < 0:
        raise ValueError(f"scale must be >= 1 and shave >= 0, got {scale} and {border}")
    y = rgb_to_y(img_u8)
    if min(y.shape) <= 2 * border:
        raise ValueError(f"image of shape {y.shape} is too small to shave {border} pixels")
    period = JPEG_BLOCK * scale
    gs, gn, os_, on = (a + b for a, b in zip(_steps(y, 0, period, border), _steps(y, 1, period, border)))
    if gn == 0 or on == 0:
        return math.nan
    grid, other = gs / gn, os_ / on
    if other == 0.0:
        return 1.0 if grid == 0.0 else math.inf
    return grid / other
