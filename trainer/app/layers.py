"""Display layers of the comparator, as plain numpy data (no Qt, no torch).

A layer is an 8-bit RGB picture placed on the comparison *canvas*, whose coordinates are the pixels
of the super-resolved image. The LR layer is ``scale`` times smaller and is drawn enlarged with
nearest-neighbour sampling (``factor = scale``), so its pixels stay visible without allocating a
``scale``-times larger copy. Each layer carries a pyramid of halvings so that a zoomed-out view of a
large result draws from a small level instead of resampling the full image on every paint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The one 16-bit -> 8-bit / alpha-over-background conversion of the project (re-exported here).
from trainer.imageio.display import to_display_u8  # noqa: F401

# Keys in the order of the number keys 1..6 of the comparator.
LAYER_ORDER = ("lr", "bicubic", "sr", "hr", "error", "sr2")
# The error maps of the other results (``error`` is the first model's, or bicubic's without a model).
ERROR_OF_BICUBIC, ERROR_OF_SR2 = "error_bicubic", "error_sr2"
PYRAMID_MIN_SIDE = 256


@dataclass
class Layer:
    """One picture of the comparator.

    Attributes:
        key: stable identifier (``lr``, ``bicubic``, ``sr``, ``hr``, ``error``, ``sr2``).
        title: what the user reads ("SR: srgan_x4").
        pixels: HxWx3 uint8 RGB (display copy, alpha composited).
        factor: canvas pixels per layer pixel (``scale`` for LR, 1 otherwise).
        nearest: draw enlarged pixels as blocks (LR) even when the view is not zoomed in.
        levels: ``levels[k]`` is ``pixels`` reduced by ``2**k`` (``levels[0] is pixels``).
    """

    key: str
    title: str
    pixels: np.ndarray
    factor: int = 1
    nearest: bool = False
    levels: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.pixels.dtype != np.uint8 or self.pixels.ndim != 3 or self.pixels.shape[2] != 3:
            raise ValueError(f"layer {self.key!r}: expected HxWx3 uint8, got {self.pixels.dtype} {self.pixels.shape}")
        # C order here, in the worker: the view wraps these buffers in QImages without copying,
        # so a transposed array (imresize returns one) would otherwise be copied in the GUI thread.
        self.pixels = np.ascontiguousarray(self.pixels)
        if not self.levels:
            self.levels = build_pyramid(self.pixels)

    @property
    def canvas_size(self) -> tuple[int, int]:
        """(width, height) on the canvas."""
        return self.pixels.shape[1] * self.factor, self.pixels.shape[0] * self.factor


def fit_to(pixels: np.ndarray, height: int, width: int, *, same_grid: bool) -> np.ndarray:
    """A result of another scale shown on this canvas (``height`` x ``width``).

    ``same_grid``: ``pixels`` already has the canvas's pixel size (evaluation: both results are at
    the HR's resolution, only the crop to a multiple of each scale differs by a few pixels), so it
    is cropped or edge-padded at the bottom/right and never resampled. Otherwise (a 2x result next
    to a 4x one) it is resampled with Lanczos (``trainer.imageio.resample``, the output-size filter).
    """
    h, w = pixels.shape[:2]
    if (h, w) == (height, width):
        return pixels
    if same_grid:
        out = pixels[:height, :width]
        pad = ((0, height - out.shape[0]), (0, width - out.shape[1])) + ((0, 0),) * (pixels.ndim - 2)
        return np.pad(out, pad, mode="edge") if any(p[1] for p in pad) else np.ascontiguousarray(out)
    from trainer.imageio.resample import FILTER
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).resize((width, height), FILTER))


def halve(arr: np.ndarray) -> np.ndarray:
    """2x2 box reduction of an HxWxC uint8 image (odd last row/column dropped)."""
    h, w = arr.shape[0] // 2 * 2, arr.shape[1] // 2 * 2
    a = arr[:h, :w].astype(np.uint16)
    s = a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
    return ((s + 2) // 4).astype(np.uint8)


def build_pyramid(pixels: np.ndarray, min_side: int = PYRAMID_MIN_SIDE) -> list[np.ndarray]:
    """``[pixels, pixels/2, pixels/4, ...]`` down to a level whose longer side is <= ``min_side``."""
    levels = [pixels]
    while max(levels[-1].shape[:2]) > min_side and min(levels[-1].shape[:2]) >= 4:
        levels.append(halve(levels[-1]))
    return levels


def thumbnail(pixels: np.ndarray, max_side: int = 96) -> np.ndarray:
    """Small HxWx3 uint8 preview (box-halved, then strided) for the queue."""
    arr = to_display_u8(pixels)
    while max(arr.shape[:2]) > 2 * max_side:
        arr = halve(arr)
    step = max(1, int(np.ceil(max(arr.shape[:2]) / max_side)))
    return np.ascontiguousarray(arr[::step, ::step])


# Anchor colours of a perceptually ordered dark-to-bright map (close to matplotlib's "inferno").
_ANCHORS = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]],
    dtype=np.float64,
)


def colormap_lut() -> np.ndarray:
    """256x3 uint8 lookup table of the error heat-map (black = no error, pale yellow = large)."""
    x = np.linspace(0.0, len(_ANCHORS) - 1, 256)
    i = np.minimum(x.astype(int), len(_ANCHORS) - 2)
    t = (x - i)[:, None]
    return np.rint(_ANCHORS[i] * (1 - t) + _ANCHORS[i + 1] * t).astype(np.uint8)


def heatmap(abs_error: np.ndarray, vmax: float) -> np.ndarray:
    """Colour an HxW map of absolute errors: 0 -> black, ``>= vmax`` -> brightest colour."""
    idx = np.clip(np.rint(np.asarray(abs_error, dtype=np.float64) * (255.0 / vmax)), 0, 255).astype(np.uint8)
    return colormap_lut()[idx]
