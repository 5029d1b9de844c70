"""NIQE, the no-reference "Natural Image Quality Evaluator" (Mittal, Soundararajan and Bovik, "Making a
'completely blind' image quality analyzer", IEEE Signal Processing Letters 20(3), 2013). Lower is better.

This follows the authors' MATLAB release (``computequality.m``) as PROTOCOL.md asks, so the figures
compare with published tables (PIRM 2018 and most perceptual SR papers):

- an RGB image becomes grey with MATLAB's ``rgb2gray`` (weights about 0.2989, 0.5870, 0.1140 on 0-255
  values, rounded to integers as MATLAB does for uint8 images);
- the grey image is cropped (bottom/right) to a multiple of 96 pixels and cut into 96x96 blocks;
- at each of two scales (the second made with MATLAB-bicubic ``imresize(0.5)``, antialiased, not
  rounded) the MSCN coefficients ``(I - mu) / (sigma + 1)`` are formed with a 7x7 Gaussian window
  (sigma 7/6, replicated borders), and each block (96 px, then 48 px) gives 18 features: an AGGD fit
  of the coefficients (shape, mean scale) and AGGD fits of their products with the 4 neighbours
  (right, below, diagonal, anti-diagonal; circular within the block) (shape, mean, left and right scale);
- the 36-dimensional block features are summarised by their mean and sample covariance (blocks with an
  undefined feature are left out, as ``nanmean``/``nancov`` do) and compared with the pristine model:
  ``sqrt((mu_p - mu_d)^T pinv((cov_p + cov_d) / 2) (mu_p - mu_d))``.

The pristine model is the release's ``modelparameters.mat`` (``trainer/data/niqe_pris_params.npz``; see
the NOTICE file there). Everything is vectorised over blocks with numpy: a 500x500 image takes a few
tens of milliseconds.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from trainer.imresize import imresize

BLOCK = 96  # block side of the release (and of its pristine model)
MIN_SIDE = 2 * BLOCK  # below two blocks per side the block covariance means little: no figure
PARAMS_FILE = Path(__file__).resolve().parent / "data" / "niqe_pris_params.npz"
# MATLAB rgb2gray: the first row of the inverse of the NTSC (YIQ) matrix, documented as 0.2989 0.5870 0.1140.
GREY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
WINDOW_SIZE, WINDOW_SIGMA = 7, 7.0 / 6.0  # fspecial('gaussian', 7, 7/6)
# The release's grid of AGGD shape parameters, 0.2:0.001:10 (9801 values); fits pick the nearest value.
_GAMMA_GRID = 0.2 + 0.001 * np.arange(9801)
# circshift shifts of computefeature.m, (rows, columns): the 4 neighbour orientations.
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@lru_cache(maxsize=4)
def pristine_params(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, cov)`` of the pristine model, shapes ``(36,)`` and ``(36, 36)``, float64 (cached).

    Raises FileNotFoundError naming the file when it is missing (a broken installation).
    """
    file = Path(path) if path is not None else PARAMS_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"NIQE pristine model parameters not found: {file} (it ships with the trainer package; reinstall it)"
        )
    with np.load(file) as data:
        mu = np.asarray(data["mu_pris_param"], dtype=np.float64).reshape(-1)
        cov = np.asarray(data["cov_pris_param"], dtype=np.float64)
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise ValueError(f"{file}: expected a mean of 36 and a 36x36 covariance, got {mu.shape} and {cov.shape}")
    mu.setflags(write=False)
    cov.setflags(write=False)
    return mu, cov


def rgb_to_grey(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of a uint8 RGB image (float64 HxW of integers 0..255); grey input is kept."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return arr.astype(np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {arr.shape}")
    # MATLAB returns uint8 for uint8 input, rounding half away from zero (all values are >= 0 here).
    grey = arr[:, :, 0] * GREY_WEIGHTS[0]  # per channel: a (N, 3) @ (3,) product is several times slower
    grey += arr[:, :, 1] * GREY_WEIGHTS[1]
    grey += arr[:, :, 2] * GREY_WEIGHTS[2]
    grey += 0.5
    return np.floor(grey, out=grey)


def _gaussian_taps() -> np.ndarray:
    x = np.arange(WINDOW_SIZE, dtype=np.float64) - (WINDOW_SIZE - 1) / 2
    taps = np.exp(-(x**2) / (2 * WINDOW_SIGMA**2))
    return taps / taps.sum()  # the outer product of these is fspecial's normalised 2-D window


def _smooth_rows(img: np.ndarray) -> np.ndarray:
    """The 7-tap Gaussian along axis 0, borders replicated; C-contiguous result."""
    taps, r, n = _gaussian_taps(), WINDOW_SIZE // 2, img.shape[0]
    pad = np.concatenate([np.repeat(img[:1], r, axis=0), img, np.repeat(img[-1:], r, axis=0)])
    # In place, so a large photo needs no pile of temporaries; taps in order, which reproduces the
    # MATLAB figure of BasicSR's test image to 7 digits (rounding decides some of the grid fits).
    acc, tmp = pad[:n] * taps[0], np.empty(pad[:n].shape)
    for k in range(1, WINDOW_SIZE):
        acc += np.multiply(pad[k : k + n], taps[k], out=tmp)
    return acc


def _smooth(img: np.ndarray) -> np.ndarray:
    """``imfilter(img, window, 'replicate')`` with the separable 7x7 Gaussian."""
    # The column pass runs on the transpose: its copy is contiguous along the filtered axis.
    return _smooth_rows(_smooth_rows(img).T).T


def mscn(img: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(I - mu) / (sigma + 1)`` of a float grey image."""
    mu = _smooth(img)
    sigma = np.sqrt(np.abs(_smooth(img * img) - mu * mu))  # abs: rounding can make the variance negative
    return (img - mu) / (sigma + 1.0)


@lru_cache(maxsize=1)
def _gamma_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``r(gamma)`` on the grid and ``Gamma(1/g)``, ``Gamma(2/g)``, ``Gamma(3/g)`` for the fitted values."""
    g1, g2, g3 = (np.array([math.gamma(k / g) for g in _GAMMA_GRID]) for k in (1, 2, 3))
    r = g2**2 / (g1 * g3)
    # r increases strictly along the grid, so the nearest grid value is found by bisection, not by a
    # 9801-wide search per fit (which would need gigabytes for a large photo).
    assert np.all(np.diff(r) > 0)
    return r, g1, g2, g3


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """AGGD fit of each row of ``x`` (``estimateaggdparam.m``): grid index, shape, left and right scale.

    A row without negative (or positive) values has an undefined scale (NaN), as in MATLAB, whose
    ``min`` then picks the first grid value as the shape.
    """
    r_grid, g1, _, g3 = _gamma_tables()
    neg, pos, sq = x < 0, x > 0, x * x
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt((sq * neg).sum(axis=1) / neg.sum(axis=1))
        right = np.sqrt((sq * pos).sum(axis=1) / pos.sum(axis=1))
        ghat = left / right
        rhat = np.abs(x).mean(axis=1) ** 2 / sq.mean(axis=1)
        rnorm = rhat * (ghat**3 + 1) * (ghat + 1) / (ghat**2 + 1) ** 2
    # Nearest grid value; on a tie the lower one, as MATLAB's min returns the first minimum.
    hi = np.clip(np.searchsorted(r_grid, np.nan_to_num(rnorm, nan=-np.inf)), 1, r_grid.size - 1)
    idx = np.where((rnorm - r_grid[hi - 1]) ** 2 <= (r_grid[hi] - rnorm) ** 2, hi - 1, hi)
    idx = np.where(np.isnan(rnorm), 0, idx)
    ratio = np.sqrt(g1[idx] / g3[idx])
    return idx, _GAMMA_GRID[idx], left * ratio, right * ratio


def _blocks(coeffs: np.ndarray, side: int) -> np.ndarray:
    """``(n_blocks, side, side)`` view of an image whose sides are multiples of ``side``."""
    h, w = coeffs.shape
    return coeffs.reshape(h // side, side, w // side, side).transpose(0, 2, 1, 3).reshape(-1, side, side)


def block_features(coeffs: np.ndarray, side: int) -> np.ndarray:
    """The 18 features (``computefeature.m``) of each ``side`` x ``side`` block of MSCN ``coeffs``."""
    blocks = _blocks(coeffs, side)
    n = blocks.shape[0]
    _, g1, g2, _ = _gamma_tables()
    _, alpha, left, right = _aggd(blocks.reshape(n, -1))
    feats = [alpha, (left + right) / 2]
    for shift in _SHIFTS:
        pairs = blocks * np.roll(blocks, shift, axis=(1, 2))
        idx, alpha, left, right = _aggd(pairs.reshape(n, -1))
        feats += [alpha, (right - left) * g2[idx] / g1[idx], left, right]
    return np.stack(feats, axis=1)


def features(grey: np.ndarray) -> np.ndarray:
    """``(n_blocks, 36)`` features of a float grey image (0-255 values) at both scales."""
    h, w = (grey.shape[0] // BLOCK) * BLOCK, (grey.shape[1] // BLOCK) * BLOCK
    img = np.asarray(grey, dtype=np.float64)[:h, :w]
    first = block_features(mscn(img), BLOCK)
    half = imresize(img, 0.5)  # float in, float out: MATLAB's imresize of a double image, no rounding
    second = block_features(mscn(half), BLOCK // 2)
    return np.concatenate([first, second], axis=1)


def niqe_grey(grey: np.ndarray) -> float | None:
    """NIQE of a grey image (HxW, 0-255 values, any real dtype); None when smaller than
    :data:`MIN_SIDE` on a side or when too few blocks have defined features (e.g. a flat image)."""
    grey = np.asarray(grey, dtype=np.float64)
    if grey.ndim != 2:
        raise ValueError(f"expected an HxW grey image, got shape {grey.shape}")
    if min(grey.shape) < MIN_SIDE:
        return None
    mu_p, cov_p = pristine_params()
    feats = features(grey)
    valid = feats[~np.isnan(feats).any(axis=1)]
    if valid.shape[0] < 2:
        return None
    with warnings.catch_warnings():  # an all-NaN column gives NaN (and a warning): the figure is None
        warnings.simplefilter("ignore", RuntimeWarning)
        mu_d = np.nanmean(feats, axis=0)  # nanmean uses every block's defined values, nancov whole rows
    cov_d = np.cov(valid, rowvar=False)
    diff = mu_p - mu_d
    value = float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff))
    return value if math.isfinite(value) else None


def niqe(rgb_uint8: np.ndarray, shave: int = 0) -> float | None:
    """NIQE of a uint8 RGB (or grey) image after removing ``shave`` pixels on every side.

    Returns None ("n/a") when the shaved image is smaller than :data:`MIN_SIDE` (two 96-pixel
    blocks) on a side, or when the figure is undefined (a flat image).
    """
    if shave < 0:
        raise ValueError(f"shave must be >= 0, got {shave}")
    arr = np.asarray(rgb_uint8)
    if shave:
        arr = arr[shave:-shave, shave:-shave]
    if arr.ndim < 2 or min(arr.shape[:2]) < MIN_SIDE:
        return None
    return niqe_grey(rgb_to_grey(arr))
