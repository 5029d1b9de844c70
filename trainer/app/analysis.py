"""Readout numbers of the comparator, computed with ``trainer.metrics`` (never reimplemented).

Qt-free; imports ``trainer`` (and so torch) lazily, because this module is imported by widgets that
must be constructible before torch is loaded.

Whole-image figures follow the protocol exactly (``psnr_y``/``ssim_y`` with ``shave = scale``), so
they equal what ``srgan-eval`` prints for the same image. Region figures use the part of the
*shaved* image that is on screen, with no further shave: when the whole image is visible, the
region figures are the whole-image figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Above this many output pixels the display-only bicubic layer and the consistency check use
# Pillow's bicubic: the protocol's float64 resize would need several GB for a large photo.
LARGE_OUTPUT_PIXELS = 16_000_000
# skimage's Gaussian SSIM uses an 11x11 window: a smaller region has no SSIM.
MIN_REGION_SIDE = 11
HEATMAP_VMAX = 32.0  # |ΔY| (grey levels) shown as the brightest colour of the error map
# Above this many pixels a picture's NIQE readout is "n/a": it costs about 0.5 s and 60 MB per
# megapixel on a loaded 2-core CPU, and an item shows up to four pictures.
NIQE_MAX_PIXELS = 8_000_000


@dataclass(frozen=True)
class Scores:
    """PSNR (dB) and SSIM of one result against the ground truth."""

    psnr: float
    ssim: float


def whole_scores(hr: np.ndarray, results: dict[str, np.ndarray], scale: int) -> dict[str, Scores]:
    """Protocol figures of each result (uint8 RGB, same size as ``hr``) against ``hr``."""
    from trainer.metrics import psnr_y, ssim_y

    return {k: Scores(psnr_y(hr, v, shave=scale), ssim_y(hr, v, shave=scale)) for k, v in results.items()}


def niqe_scores(images: dict[str, np.ndarray], scale: int) -> dict[str, float | None]:
    """NIQE (``trainer.niqe``, lower is better; ``scale`` pixels shaved as ``srgan-eval --niqe`` does)
    of each uint8 RGB image; None ("n/a") for an image under two 96-pixel blocks a side or above
    :data:`NIQE_MAX_PIXELS`."""
    from trainer.niqe import niqe

    out: dict[str, float | None] = {}
    for key, img in images.items():
        out[key] = None if img.shape[0] * img.shape[1] > NIQE_MAX_PIXELS else niqe(img, shave=scale)
    return out


def clip_region(rect: tuple[int, int, int, int], size: tuple[int, int], scale: int) -> tuple[int, int, int, int] | None:
    """``rect`` (x0, y0, x1, y1; canvas pixels, end exclusive) inside the shaved image of ``size``
    (width, height), or None when less than :data:`MIN_REGION_SIDE` pixels remain on a side."""
    w, h = size
    x0, y0 = max(int(rect[0]), scale), max(int(rect[1]), scale)
    x1, y1 = min(int(rect[2]), w - scale), min(int(rect[3]), h - scale)
    if x1 - x0 < MIN_REGION_SIDE or y1 - y0 < MIN_REGION_SIDE:
        return None
    return x0, y0, x1, y1


def region_scores(
    hr: np.ndarray, results: dict[str, np.ndarray], rect: tuple[int, int, int, int], scale: int
) -> dict[str, Scores] | None:
    """Figures of each result on the visible region ``rect`` (see :func:`clip_region`); None when
    the region is too small for SSIM."""
    from trainer.metrics import psnr_y, ssim_y

    box = clip_region(rect, (hr.shape[1], hr.shape[0]), scale)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    ref = hr[y0:y1, x0:x1]
    out = {}
    for key, img in results.items():
        crop = img[y0:y1, x0:x1]
        out[key] = Scores(psnr_y(ref, crop, shave=0), ssim_y(ref, crop, shave=0))
    return out


def is_large(shape: tuple[int, ...]) -> bool:
    """True when an image of this shape is above :data:`LARGE_OUTPUT_PIXELS`."""
    return shape[0] * shape[1] > LARGE_OUTPUT_PIXELS


def _pillow_resize(img: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((size_hw[1], size_hw[0]), Image.Resampling.BICUBIC))


def bicubic_layer(lr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic comparison picture: the protocol's MATLAB bicubic, or Pillow's for a large output."""
    out = (lr.shape[0] * scale, lr.shape[1] * scale)
    if is_large(out):
        return _pillow_resize(lr, out)
    from trainer.metrics import bicubic_upscale

    return bicubic_upscale(lr, scale)


def lr_consistency(lr: np.ndarray, sr: np.ndarray) -> float:
    """PSNR (Y, dB) of the SR result shrunk back with the protocol's bicubic against the LR input.

    High values (40 dB and more) say the model added detail that is consistent with the input;
    low values say it changed what the input shows (colours, shapes, shifted edges). For a large
    result Pillow's (antialiased) bicubic shrinks it instead.
    """
    from trainer.metrics import psnr_y

    if is_large(sr.shape):
        back = _pillow_resize(sr, lr.shape[:2])
    else:
        from trainer.imresize import imresize

        back = imresize(sr, output_shape=lr.shape[:2])
    return psnr_y(lr, back, shave=0)


def abs_error_y(hr: np.ndarray, sr: np.ndarray) -> np.ndarray:
    """|Y(sr) - Y(hr)| per pixel (float64 HxW), the data of the error heat-map."""
    from trainer.metrics import rgb_to_y

    return np.abs(rgb_to_y(sr) - rgb_to_y(hr))
