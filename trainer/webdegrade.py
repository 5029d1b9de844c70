"""Web-like degradation of a benchmark image, fixed by a seed (``shared/docs/PROTOCOL.md``).

The LR image of the "web" evaluation is made from the HR image (uint8 RGB, already cropped to a
multiple of ``scale``) in this order, every step in float64 until the rounding:

1. Gaussian blur, sigma ~ U(0.2, 1.2): separable kernel ``exp(-x² / 2 sigma²)`` normalised to sum
   1, radius ``ceil(3 sigma)`` taps, borders padded by half-sample symmetric mirroring
   (``dcba|abcd|dcba``: numpy ``"symmetric"``, scipy.ndimage ``"reflect"``, the same mirroring as
   the protocol's ``imresize``);
2. MATLAB bicubic ``1/scale`` (:func:`trainer.imresize.imresize`, float path: no rounding here);
3. Gaussian noise, sigma ~ U(0, 8) grey levels, independent per pixel and per channel;
4. rounding and clipping to uint8;
5. JPEG, integer quality ~ U{35..90}, 4:2:0 chroma subsampling, Pillow's (libjpeg) standard
   quantisation tables, encoded and decoded in memory.

All randomness comes from ``numpy.random.default_rng(seed)``, drawn in this fixed order: blur
sigma (``uniform``), noise sigma (``uniform``), JPEG quality (``integers(35, 91)``), then the
noise field (``standard_normal`` of the LR shape, H x W x 3, C order). So a (seed, image) pair
always gives the same LR, and the evaluation uses seed = base seed + image index, which nobody can
tune a model to without training on the benchmark itself. The decoded JPEG is bit-exact for a
given libjpeg build (Pillow wheels ship libjpeg-turbo); another decoder could differ by a grey level.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from trainer.imresize import imresize
from trainer.metrics import as_rgb_u8

BLUR_SIGMA = (0.2, 1.2)  # pixels of the HR image
NOISE_SIGMA = (0.0, 8.0)  # grey levels (0..255) of the LR image
JPEG_QUALITY = (35, 90)  # inclusive
JPEG_SUBSAMPLING = 2  # Pillow's code for 4:2:0

_SPEC = re.compile(r"web(?::(\d+))?")
SPEC_FORMS = "bicubic, web or web:SEED (SEED a non-negative integer)"


@dataclass(frozen=True)
class WebParams:
    """The parameters drawn for one image: its seed, blur and noise sigmas, JPEG quality."""

    seed: int
    blur_sigma: float
    noise_sigma: float
    jpeg_quality: int


@dataclass(frozen=True)
class WebDegradation:
    """The "web" degradation of an evaluation: image ``i`` of a set uses seed ``base_seed + i``."""

    base_seed: int = 0

    @property
    def key(self) -> str:
        """``"web:<base_seed>"``: appended to set names in reports (``"BSD68@web:0"``)."""
        return f"web:{self.base_seed}"

    def make_pair(self, hr_u8: np.ndarray, scale: int, index: int) -> tuple[np.ndarray, np.ndarray, WebParams]:
        """``(hr, lr, params)`` of image ``index`` (0-based): HR cropped as the protocol does."""
        hr = crop_to_scale(hr_u8, scale)
        lr, params = web_degrade(hr, scale, self.base_seed + index)
        return hr, lr, params


def parse_degradation(text: str) -> WebDegradation | None:
    """``None`` for ``"bicubic"`` (the clean protocol), a :class:`WebDegradation` for ``"web"``
    (base seed 0) or ``"web:SEED"``; raises ``ValueError`` naming the accepted forms otherwise."""
    if text == "bicubic":
        return None
    match = _SPEC.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid degradation {text!r}: expected {SPEC_FORMS}")
    return WebDegradation(int(match.group(1) or 0))


def crop_to_scale(hr_u8: np.ndarray, scale: int) -> np.ndarray:
    """HR as HxWx3 uint8 cropped bottom/right to a multiple of ``scale`` (as ``prepare_pair``)."""
    hr = as_rgb_u8(hr_u8)
    h, w = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
    if h == 0 or w == 0:
        raise ValueError(f"image of shape {hr.shape[:2]} is smaller than the scale {scale}")
    return np.ascontiguousarray(hr[:h, :w])


def draw_params(rng: np.random.Generator, seed: int) -> WebParams:
    """Draw blur sigma, noise sigma and JPEG quality from ``rng``, in that order."""
    blur = float(rng.uniform(*BLUR_SIGMA))
    noise = float(rng.uniform(*NOISE_SIGMA))
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    return WebParams(seed, blur, noise, quality)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (radius ``ceil(3 sigma)``, symmetric borders) of an HxW[xC] image,
    returned as float64."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(x * x) / (2.0 * sigma * sigma))
    kernel /= kernel.sum()
    out = np.asarray(img, dtype=np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        # np.pad mirrors again when the radius exceeds the image (tiny images stay valid).
        padded = np.pad(out, pad, mode="symmetric")
        n = out.shape[axis]
        acc = np.zeros_like(out)
        for k, w in enumerate(kernel):  # 2*radius+1 <= 9 taps: vectorised over the whole image
            acc += w * np.take(padded, np.arange(k, k + n), axis=axis)
        out = acc
    return out


def encode_jpeg(img_u8: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG bytes of an RGB uint8 image at ``quality``, 4:2:0, through Pillow."""
    buf = io.BytesIO()
    Image.fromarray(img_u8, "RGB").save(buf, format="JPEG", quality=int(quality), subsampling=JPEG_SUBSAMPLING)
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of JPEG ``data``."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB")).copy()


def web_degrade(hr_u8: np.ndarray, scale: int, seed: int) -> tuple[np.ndarray, WebParams]:
    """The web-like LR (uint8 HxWx3, ``ceil(size / scale)``) of ``hr_u8`` and the parameters drawn.

    ``hr_u8`` is uint8 RGB or grey (grey becomes RGB); crop it to a multiple of ``scale`` first
    (:func:`crop_to_scale`) to get exactly ``size / scale``. ``seed`` is a non-negative integer.
    """
    hr = as_rgb_u8(hr_u8)
    rng = np.random.default_rng(seed)
    params = draw_params(rng, seed)
    lr = imresize(gaussian_blur(hr, params.blur_sigma), 1.0 / scale)  # float in -> float out
    lr = lr + params.noise_sigma * rng.standard_normal(lr.shape)
    lr_u8 = np.clip(np.round(lr), 0, 255).astype(np.uint8)
    return decode_jpeg(encode_jpeg(lr_u8, params.jpeg_quality)), params
