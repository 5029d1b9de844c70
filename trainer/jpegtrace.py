"""Does a losslessly stored image carry JPEG traces (a PNG saved from a JPEG, a screenshot of a photo)?

JPEG quantises each 8x8 block's DCT coefficients; at the quality people use, most high-frequency
coefficients become exactly zero. Decoding then re-saving as PNG keeps that: taken on the JPEG's
own 8x8 grid, the image's high-frequency DCT coefficients are nearly all close to zero, while on
any other alignment of the grid they are not (the block edges themselves are high-frequency
content there). A photo that never was a JPEG has no such grid: every alignment looks alike.

:func:`jpeg_grid_evidence` measures the excess: the fraction of near-zero high-frequency
coefficients on the best of the 64 grid alignments minus the median fraction over all 64.
Alignments are searched, so a screenshot or a crop that shifted the grid is found too; the median
is the control, so flat images (near-zero everywhere) score about 0.

Measured on 2026-11-29 (``benchmarks/bench_jpegtrace.py`` reproduces it): clean MATLAB-bicubic LR
of Set5, Set14, BSD68 and of the 106 training photographs 0.002-0.058; the benchmark LR with noise
sigma 4 0.005-0.019; the web-degraded LR of the evaluation (JPEG quality 35-90) 0.37-0.76, 0.35-0.76
shifted by 1-7 pixels; the clean LR saved as JPEG quality 95 (4:2:0) 0.15-0.42. :data:`THRESHOLD`
(0.10) sits between the two groups. Reading a file costs about 55 ms per megapixel on a 2-core
x86_64 CPU, 1.8 times decoding it alone (other work paused).
An image resized after it was decoded has lost the grid (and most of its blocks): it scores as clean.
Pixel art enlarged 8x (flat 8x8 squares) scores as JPEG.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

THRESHOLD = 0.10
"""Evidence above which an image is taken to carry JPEG traces (see the module docstring)."""

REGION = 392
"""Side of the centre region analysed (49 x 8: every alignment has at least 48 blocks a side)."""

NEAR_ZERO = 0.75
"""|coefficient| under this counts as zero: a quantised zero plus the rounding to 8-bit pixels."""

_N = 8
_DCT = np.array([[(np.sqrt(1 / _N) if u == 0 else np.sqrt(2 / _N)) * np.cos((2 * x + 1) * u * np.pi / (2 * _N))
                  for x in range(_N)] for u in range(_N)])  # orthonormal DCT-II: JPEG's FDCT
_U, _V = np.meshgrid(range(_N), range(_N), indexing="ij")
_HIGH = (_U + _V) >= 4  # the frequencies JPEG quantises coarsely (and zeroes first)


def luma(rgb: np.ndarray) -> np.ndarray:
    """JFIF luma (0-255, float64) of an HxWx3 (or HxW grey) array of 8-bit levels."""
    a = np.asarray(rgb, dtype=np.float64)
    if a.ndim == 2:
        return a
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]


def centre_region(shape: tuple[int, ...], size: int = REGION) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the centre region analysed; its origin is a multiple of 8,
    so the file's own grid keeps its alignment."""
    h, w = shape[0], shape[1]
    ch, cw = min(h, size), min(w, size)
    return ((h - ch) // 2) // _N * _N, ((w - cw) // 2) // _N * _N, ch, cw


def jpeg_grid_evidence(rgb: np.ndarray) -> float:
    """Excess fraction of near-zero high-frequency DCT coefficients on the best 8x8 grid alignment
    over the median alignment, in the centre region of an 8-bit image (HxWx3 or HxW): about 0 for
    images that never were JPEG, 0.15-0.8 for decoded JPEGs (module docstring). Images under 24
    pixels a side give 0.0 (too few blocks to tell)."""
    if min(rgb.shape[0], rgb.shape[1]) < 3 * _N:
        return 0.0
    top, left, h, w = centre_region(rgb.shape)
    y = luma(rgb[top:top + h, left:left + w]) - 128.0
    fractions = np.empty((_N, _N))
    for py in range(_N):
        for px in range(_N):
            hb, wb = (h - py) // _N, (w - px) // _N
            blocks = y[py:py + hb * _N, px:px + wb * _N].reshape(hb, _N, wb, _N).transpose(0, 2, 1, 3)
            coeffs = _DCT @ blocks @ _DCT.T
            fractions[py, px] = float((np.abs(coeffs[..., _HIGH]) < NEAR_ZERO).mean())
    return float(fractions.max() - np.median(fractions))


def _levels_u8(im) -> np.ndarray:
    """8-bit RGB levels of a Pillow image (16-bit greys scaled to 0-255, not clipped)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        return a / 257.0 if a.max(initial=0) > 255 else a
    return np.asarray(im.convert("RGB"))


@functools.lru_cache(maxsize=256)
def _evidence_cached(path: str, _mtime_ns: int, _size: int) -> float:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        top, left, h, w = centre_region((im.height, im.width))
        region = im.crop((left, top, left + w, top + h))  # only the region is converted
    return jpeg_grid_evidence(_levels_u8(region))


def file_jpeg_evidence(path: str | os.PathLike[str]) -> float:
    """:func:`jpeg_grid_evidence` of an image file's stored pixels (its first frame; the result is
    cached per path, size and modification time). Raises ``OSError`` when the file cannot be read."""
    p = Path(path)
    st = p.stat()
    try:
        return _evidence_cached(str(p), st.st_mtime_ns, st.st_size)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow's decoder errors are not all OSError
        raise OSError(f"{p}: cannot read the image ({exc})") from exc


def has_jpeg_traces(path: str | os.PathLike[str]) -> bool:
    """True when the file's pixels show JPEG's 8x8 quantisation (:data:`THRESHOLD`); False when
    they do not or the file cannot be read (reading it for upscaling will say why)."""
    try:
        return file_jpeg_evidence(path) > THRESHOLD
    except OSError:
        return False
