"""The ``realistic`` training degradation: a second-order blur / resize / noise / JPEG pipeline.

In the spirit of Real-ESRGAN (Wang et al. 2021) and BSRGAN (Zhang et al. 2021): photos people
upscale were blurred by a lens, resized, noised by a sensor and JPEG-compressed, often twice
(camera, then the web). Each HR crop of a batch gets its own random draw of

1. *first order*, at HR size: blur (isotropic / anisotropic Gaussian or generalised Gaussian
   kernel), a random resize (area, bilinear or bicubic), Gaussian (colour or grey) or Poisson
   noise, JPEG through Pillow's real codec;
2. *second order*, around LR size: the same four operations with their own (milder) ranges, the
   resize relative to the final LR size;
3. the final resize to exactly HR / scale and a last JPEG.

A fraction ``clean_prob`` of the crops gets the clean MATLAB bicubic instead, so the model stays
good on clean images, and a fraction ``single_prob`` of the rest one pass only (blur, down to LR,
noise, JPEG: a camera photo put on the web once, the commonest case). Every range is a field of :class:`trainer.config.RealisticConfig`.

Randomness comes only from ``key`` = ``(seed, step, rank)``: parameters from a NumPy generator,
noise fields from a torch CPU generator, both seeded from the key. So a run is reproducible and a
resumed run makes the same LR batches as an uninterrupted one. The work runs on the CPU (the JPEG
codec is there anyway); the LR batch goes back to the HR's device.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from trainer.config import RealisticConfig
from trainer.config_realistic import SINGLE_RESIZE_MODES

RESIZE_MODES = ("area", "bilinear", "bicubic")  # drawn at random by the resizes of the two-pass history
# The one-pass history may also use "matlab" (SINGLE_RESIZE_MODES), the protocol's MATLAB bicubic:
# the x1/4 of most published LR images (and of the web evaluation) is exactly that.


def blur_kernel(kind: str, size: int, sigma_x: float, sigma_y: float = 0.0, angle: float = 0.0, beta: float = 1.0) -> torch.Tensor:
    """Normalised ``size`` x ``size`` blur kernel (float64, sums to 1).

    ``kind``: ``iso`` / ``aniso`` (Gaussian), ``generalized_iso`` / ``generalized_aniso``
    (``exp(-0.5 * q ** beta)`` with ``q`` the Gaussian's quadratic form: beta < 1 has heavier tails,
    beta > 1 a flatter top). Anisotropic kinds use ``sigma_y`` and rotate by ``angle`` (radians).
    """
    if size % 2 == 0 or size < 1:
        raise ValueError(f"kernel size must be odd and positive, got {size}")
    if kind not in ("iso", "aniso", "generalized_iso", "generalized_aniso"):
        raise ValueError(f"unknown kernel kind {kind!r}")
    if not kind.endswith("aniso"):
        sigma_y, angle = sigma_x, 0.0
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    cov = rot @ torch.diag(torch.tensor([sigma_x**2, sigma_y**2], dtype=torch.float64)) @ rot.T
    inv = torch.linalg.inv(cov)
    r = size // 2
    ax = torch.arange(-r, r + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    d = torch.stack([xx, yy], dim=-1)
    q = torch.einsum("hwi,ij,hwj->hw", d, inv, d)
    k = torch.exp(-0.5 * q.pow(beta)) if kind.startswith("generalized") else torch.exp(-0.5 * q)
    return k / k.sum()


def apply_kernel(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve a (C, H, W) or (N, C, H, W) float image with a 2-D kernel, each channel alone,
    reflected borders (replicate when too small); on ``img``'s device and dtype."""
    batch = img if img.dim() == 4 else img[None]
    r = kernel.shape[0] // 2
    mode = "reflect" if min(img.shape[-2:]) > r else "replicate"
    padded = F.pad(batch, (r, r, r, r), mode=mode)
    c = batch.shape[1]
    weight = kernel.to(device=img.device, dtype=img.dtype).expand(c, 1, *kernel.shape).contiguous()
    out = F.conv2d(padded, weight, groups=c)
    return out if img.dim() == 4 else out[0]


def resize(img: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize a (3, H, W) float image to ``size`` = (h, w) with ``mode`` (antialiased when shrinking)."""
    if mode not in SINGLE_RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}")
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    if mode == "matlab":
        from trainer.imresize import imresize_torch

        out = imresize_torch(img[None], output_shape=size)
    elif mode == "area":
        out = F.interpolate(img[None], size=size, mode="area")
    else:
        out = F.interpolate(img[None], size=size, mode=mode, align_corners=False, antialias=True)
    return out[0].clamp(0.0, 1.0)


def gaussian_noise(img: torch.Tensor, sigma: float, grey: bool, gen: torch.Generator) -> torch.Tensor:
    """Add Gaussian noise of ``sigma`` (in [0, 1] units); ``grey``: one field for all channels."""
    shape = (1, *img.shape[1:]) if grey else img.shape
    noise = torch.randn(shape, generator=gen, dtype=img.dtype) * sigma
    return (img + noise).clamp(0.0, 1.0)


def poisson_noise(img: torch.Tensor, scale: float, grey: bool, gen: torch.Generator) -> torch.Tensor:
    """Add shot noise: Poisson counts at 255 photons per full scale, the deviation times ``scale``.

    ``grey``: the noise of the image's luma, added to all channels alike.
    """
    base = (img * torch.tensor([0.299, 0.587, 0.114], dtype=img.dtype)[:, None, None]).sum(0, keepdim=True) if grey else img
    counts = base.clamp(0.0, 1.0) * 255.0
    noise = (torch.poisson(counts, generator=gen) - counts) / 255.0
    return (img + noise * scale).clamp(0.0, 1.0)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> HxWx3 uint8 (rounded)."""
    return img.mul(255.0).round_().clamp_(0, 255).byte().permute(1, 2, 0).contiguous().numpy()


def encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of HxWx3 uint8 pixels at ``quality`` (Pillow's libjpeg, 4:2:0 chroma as cameras and the web)."""
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="JPEG", quality=int(quality), subsampling=2)
    return buf.getvalue()


def jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    """Round-trip a (3, H, W) float image through a real JPEG encode/decode at ``quality``."""
    with Image.open(io.BytesIO(encode_jpeg(to_uint8(img), quality))) as decoded:
        arr = np.asarray(decoded.convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).to(img.dtype).div_(255.0)


def _uniform(rng: np.random.Generator, lo_hi: Sequence[float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1])) if lo_hi[1] > lo_hi[0] else float(lo_hi[0])


def _blur(img: torch.Tensor, rng: np.random.Generator, cfg: RealisticConfig, sigma_range: Sequence[float]) -> torch.Tensor:
    probs = np.asarray(cfg.kernel_probs, dtype=np.float64)
    kind = cfg.kernel_types[int(rng.choice(len(cfg.kernel_types), p=probs / probs.sum()))]
    size = int(rng.choice(cfg.kernel_sizes))
    sx, sy = _uniform(rng, sigma_range), _uniform(rng, sigma_range)
    angle = float(rng.uniform(-math.pi, math.pi))
    beta = _uniform(rng, cfg.beta_range)
    return apply_kernel(img, blur_kernel(kind, size, sx, sy, angle, beta))


def _noise(img: torch.Tensor, rng: np.random.Generator, gen: torch.Generator, cfg: RealisticConfig,
           sigma_range: Sequence[float], poisson_range: Sequence[float]) -> torch.Tensor:
    grey = bool(rng.random() < cfg.grey_noise_prob)
    if rng.random() < cfg.gaussian_noise_prob:
        return gaussian_noise(img, _uniform(rng, sigma_range) / 255.0, grey, gen)
    return poisson_noise(img, _uniform(rng, poisson_range), grey, gen)


def _resize_random(img: torch.Tensor, rng: np.random.Generator, target: tuple[int, int], scale_range: Sequence[float], probs: Sequence[float]) -> torch.Tensor:
    """Resize around ``target`` (h, w) by a factor drawn up (> 1), down (< 1) or keep, per ``probs``."""
    p = np.asarray(probs, dtype=np.float64)
    how = int(rng.choice(3, p=p / p.sum()))
    factor = _uniform(rng, (1.0, max(1.0, scale_range[1]))) if how == 0 else _uniform(rng, (min(1.0, scale_range[0]), 1.0)) if how == 1 else 1.0
    mode = RESIZE_MODES[int(rng.integers(0, len(RESIZE_MODES)))]
    size = (max(4, round(target[0] * factor)), max(4, round(target[1] * factor)))
    return resize(img, size, mode)


def degrade_one(hr: torch.Tensor, scale: int, cfg: RealisticConfig, rng: np.random.Generator, gen: torch.Generator) -> torch.Tensor:
    """LR of one (3, H, W) float CPU HR crop in [0, 1]: shape (3, H // scale, W // scale), on 8-bit levels."""
    h, w = hr.shape[-2:]
    out_size = (h // scale, w // scale)
    if rng.random() < cfg.clean_prob:
        from trainer.imresize import imresize_torch

        return imresize_torch(hr[None], 1.0 / scale)[0].mul(255.0).round_().clamp_(0.0, 255.0).div_(255.0)
    if rng.random() < cfg.single_prob:  # one pass: blur, down to LR, noise, JPEG
        img = _blur(hr, rng, cfg, cfg.single_blur_sigma) if rng.random() < cfg.blur_prob else hr
        img = resize(img, out_size, cfg.single_resize[int(rng.integers(0, len(cfg.single_resize)))])
        img = _noise(img, rng, gen, cfg, cfg.single_noise_sigma, cfg.poisson_scale2)
        return jpeg(img, int(rng.integers(cfg.jpeg_quality2[0], cfg.jpeg_quality2[1] + 1)))
    img = hr
    # first order, at HR size
    if rng.random() < cfg.blur_prob:
        img = _blur(img, rng, cfg, cfg.blur_sigma)
    img = _resize_random(img, rng, (h, w), cfg.resize_range, cfg.resize_probs)
    img = _noise(img, rng, gen, cfg, cfg.noise_sigma, cfg.poisson_scale)
    img = jpeg(img, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    # second order, around the final LR size
    if rng.random() < cfg.blur_prob2:
        img = _blur(img, rng, cfg, cfg.blur_sigma2)
    img = _resize_random(img, rng, out_size, cfg.resize_range2, cfg.resize_probs2)
    if rng.random() < cfg.noise_prob2:
        img = _noise(img, rng, gen, cfg, cfg.noise_sigma2, cfg.poisson_scale2)
    img = resize(img, out_size, RESIZE_MODES[int(rng.integers(0, len(RESIZE_MODES)))])
    return jpeg(img, int(rng.integers(cfg.jpeg_quality2[0], cfg.jpeg_quality2[1] + 1)))


def degrade_batch(hr: torch.Tensor, scale: int, cfg: RealisticConfig, key: Sequence[int]) -> torch.Tensor:
    """LR batch (N, 3, H // scale, W // scale) float32 on ``hr``'s device from an HR batch in [0, 1].

    ``key`` (e.g. ``(seed, step, rank)``) decides every random choice: the same key gives the
    same LR batch, on any device and with any ``cfg.threads`` (each crop draws from its own
    stream, keyed by its index, so the order the threads finish in does not matter).
    """
    cpu = hr.detach().to("cpu", torch.float32).contiguous()

    def one(i: int) -> torch.Tensor:
        rng = np.random.default_rng([0x5EA1, *(int(k) for k in key), i])
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        with torch.no_grad():
            return degrade_one(cpu[i], scale, cfg, rng, gen)

    threads = min(len(cpu), degrade_threads(cfg.threads, hr.device))
    if threads > 1:
        # Pillow's JPEG codec and torch's convolutions release the GIL, so threads overlap.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads, thread_name_prefix="degrade") as pool:
            lrs = list(pool.map(one, range(len(cpu))))
    else:
        lrs = [one(i) for i in range(len(cpu))]
    return torch.stack(lrs).to(hr.device)


def degrade_threads(requested: int, device: torch.device) -> int:
    """``data.realistic.threads`` resolved: 0 = up to 8 on an accelerator (the step waits for the
    CPU), 1 on the CPU (the training step itself already uses every core)."""
    if requested > 0:
        return requested
    if device.type == "cpu":
        return 1
    return max(1, min(8, (os.cpu_count() or 2) - 1))
