"""Quality metrics of the evaluation protocol (``shared/docs/PROTOCOL.md``).

PSNR and SSIM are computed on the Y channel (BT.601 studio range, as MATLAB's ``rgb2ycbcr``, not
rounded) of uint8 images, after shaving ``scale`` pixels from every side: the convention of the
super-resolution literature, so figures compare with published tables.

Identical images have no error: :func:`psnr_y` returns ``math.inf`` for them (the honest value).
Callers that average a set must decide what to do with it; :mod:`trainer.evaluation` keeps it, so
a set containing a perfect reconstruction averages to ``inf`` rather than to a made-up number.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity

from trainer.imresize import imresize

# MATLAB rgb2ycbcr, Y row, for R, G, B in [0, 1].
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
SSIM_WINDOW = 11  # skimage's Gaussian window for sigma 1.5: 2 * int(3.5 * 1.5 + 0.5) + 1


def as_rgb_u8(img: np.ndarray) -> np.ndarray:
    """An HxW, HxWx1 or HxWx3 uint8 image as HxWx3 uint8 (grey repeated into three channels)."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise ValueError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return arr


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Luma Y (float64 HxW, 16..235 for uint8 input) of a uint8 RGB or grey image; not rounded."""
    rgb = as_rgb_u8(img).astype(np.float64) / 255.0
    return 16.0 + rgb @ _Y_WEIGHTS


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """``img`` without ``border`` pixels on every side (first two axes); ``border=0`` is a no-op."""
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    if border == 0:
        return img
    if img.shape[0] <= 2 * border or img.shape[1] <= 2 * border:
        raise ValueError(f"image of shape {img.shape[:2]} is too small to shave {border} pixels")
    return img[border:-border, border:-border]


def _y_pair(hr_u8: np.ndarray, sr_u8: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    hr, sr = np.asarray(hr_u8), np.asarray(sr_u8)
    if hr.shape[:2] != sr.shape[:2]:
        raise ValueError(f"image sizes differ: reference {hr.shape[:2]}, result {sr.shape[:2]}")
    return shave(rgb_to_y(hr), border), shave(rgb_to_y(sr), border)


def psnr_y(hr_u8: np.ndarray, sr_u8: np.ndarray, *, shave: int = 4) -> float:
    """PSNR in dB on Y: ``10 log10(255² / MSE)``; ``math.inf`` when the shaved Y channels are equal."""
    y_hr, y_sr = _y_pair(hr_u8, sr_u8, shave)
    mse = float(np.mean((y_hr - y_sr) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0**2 / mse)


def ssim_y(hr_u8: np.ndarray, sr_u8: np.ndarray, *, shave: int = 4) -> float:
    """SSIM of Wang et al. on Y (11x11 Gaussian window, sigma 1.5, data range 255)."""
    y_hr, y_sr = _y_pair(hr_u8, sr_u8, shave)
    if min(y_hr.shape) < SSIM_WINDOW:
        raise ValueError(
            f"image of {y_hr.shape[1]}x{y_hr.shape[0]} pixels after the {shave}-pixel shave is smaller than "
            f"the {SSIM_WINDOW}x{SSIM_WINDOW} SSIM window"
        )
    return float(
        structural_similarity(
            y_hr, y_sr, data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
    )


def prepare_pair(hr_u8: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Protocol HR/LR pair: HR as RGB cropped bottom/right to a multiple of ``scale``, and its
    MATLAB-bicubic ``1/scale`` reduction as uint8 LR. Grey input (HxW or HxWx1) becomes RGB."""
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    scale = int(scale)
    hr = as_rgb_u8(hr_u8)
    h, w = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
    if h == 0 or w == 0:
        raise ValueError(f"image of shape {hr.shape[:2]} is smaller than the scale {scale}")
    hr = np.ascontiguousarray(hr[:h, :w])
    if scale == 1:  # a 1x (restoration) model's input is the HR image itself
        return hr, hr.copy()
    return hr, imresize(hr, 1.0 / scale)


def bicubic_upscale(lr_u8: np.ndarray, scale: int) -> np.ndarray:
    """The protocol's bicubic baseline: MATLAB-bicubic ``x scale`` of the LR image, uint8."""
    lr = np.asarray(lr_u8)
    if lr.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {lr.dtype}")
    return imresize(lr, output_shape=(lr.shape[0] * int(scale), lr.shape[1] * int(scale)))


def dot_lattice(img_u8: np.ndarray, *, period: int = 4, shave_px: int = 4) -> float:
    """How much an image's fine detail depends on the position on a ``period`` lattice (no reference).

    The coefficient of variation, over the ``period x period`` positions ``(y mod period, x mod
    period)``, of the mean square of Y minus its Gaussian blur (sigma 1). A pixel-shuffle generator
    can put single-pixel dots on one position of its lattice whose sign follows the content (light
    on dark, dark on light); they cancel in the mean error but not here. Measured on Set14: HR
    0.03, bicubic 0.44 (interpolation is sharpest at the LR sample positions), an SRResNet 0.1, a
    GAN with visible dots 0.5 and more (docs/GAN_RECIPE.md).
    """
    from scipy import ndimage

    y = shave(rgb_to_y(as_rgb_u8(img_u8)).astype(np.float64), shave_px)
    detail = y - ndimage.gaussian_filter(y, 1.0)
    energy = np.array([(detail[i::period, j::period] ** 2).mean() for i in range(period) for j in range(period)])
    return float(energy.std() / max(float(energy.mean()), 1e-12))
