"""The ``realistic`` degradation's settings (``data.realistic``) and their checks.

Kept apart from :mod:`trainer.config` (which re-exports :class:`RealisticConfig`) so the schema
module stays small; the pipeline itself is :mod:`trainer.train.realistic`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trainer.tomlconf import ConfigError

@dataclass(frozen=True)
class RealisticConfig:
    """Ranges of the ``realistic`` degradation (:mod:`trainer.train.realistic`); ``*2`` = second order.

    Each range is ``[low, high]`` drawn uniformly per crop; probabilities are in [0, 1]. Noise
    sigmas are in 8-bit grey levels; ``poisson_scale`` multiplies shot noise at 255 photons per
    full scale; ``resize_probs`` = (up, down, keep) chances, ``resize_range`` the factor range.
    ``kernel_types`` among ``iso``, ``aniso``, ``generalized_iso``, ``generalized_aniso``, drawn with
    ``kernel_probs``; ``beta_range`` shapes the generalised kernels. The defaults are milder than
    Real-ESRGAN's (which targets heavily degraded web images): phone and web photos, a little
    blurred, a little noisy, JPEG 35-95. ``clean_prob`` of the crops get clean MATLAB bicubic LR.
    ``single_prob`` of the others take one pass instead of two (a camera photo put on the web
    once): blur (``single_blur_sigma``) at HR, straight down to LR (one of ``single_resize``, drawn
    evenly from :data:`SINGLE_RESIZE_MODES`), noise (``single_noise_sigma``, or Poisson
    ``poisson_scale2``), JPEG (``jpeg_quality2``). ``threads`` degrade the crops of a
    batch in parallel (0 = auto: up to 8 when training on a GPU, whose step waits for them; 1 on
    the CPU, where the step already uses every core); the LR batch does not depend on it.
    """

    clean_prob: float = field(default=0.1, metadata={"prob": True})
    single_prob: float = field(default=0.5, metadata={"prob": True})
    single_blur_sigma: tuple[float, ...] = (0.2, 1.5)
    single_noise_sigma: tuple[float, ...] = (0.0, 10.0)
    single_resize: tuple[str, ...] = ("area", "bilinear", "bicubic")
    kernel_types: tuple[str, ...] = ("iso", "aniso", "generalized_iso", "generalized_aniso")
    kernel_probs: tuple[float, ...] = (0.45, 0.25, 0.15, 0.15)
    kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    beta_range: tuple[float, ...] = (0.5, 4.0)
    blur_prob: float = field(default=1.0, metadata={"prob": True})
    blur_sigma: tuple[float, ...] = (0.2, 2.0)
    resize_probs: tuple[float, ...] = (0.2, 0.5, 0.3)
    resize_range: tuple[float, ...] = (0.5, 1.2)
    gaussian_noise_prob: float = field(default=0.5, metadata={"prob": True})
    grey_noise_prob: float = field(default=0.4, metadata={"prob": True})
    noise_sigma: tuple[float, ...] = (0.0, 10.0)
    poisson_scale: tuple[float, ...] = (0.05, 1.0)
    jpeg_quality: tuple[int, ...] = (40, 95)
    blur_prob2: float = field(default=0.5, metadata={"prob": True})
    blur_sigma2: tuple[float, ...] = (0.2, 1.0)
    resize_probs2: tuple[float, ...] = (0.3, 0.4, 0.3)
    resize_range2: tuple[float, ...] = (0.7, 1.2)
    noise_prob2: float = field(default=0.5, metadata={"prob": True})
    noise_sigma2: tuple[float, ...] = (0.0, 8.0)
    poisson_scale2: tuple[float, ...] = (0.05, 0.8)
    jpeg_quality2: tuple[int, ...] = (35, 95)
    threads: int = 0


_KERNEL_KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso")
# Downscalers of the one-pass history (trainer.train.realistic.resize): torch's three, antialiased,
# and "matlab", the protocol's MATLAB bicubic (trainer.imresize).
SINGLE_RESIZE_MODES = ("area", "bilinear", "bicubic", "matlab")


def check_realistic(r: RealisticConfig) -> None:
    """Ranges are [low, high] with low <= high; probabilities lists match their choices."""
    where = "data.realistic"
    ranges = {"beta_range": (0.01, 10.0), "blur_sigma": (0.01, 20.0), "single_blur_sigma": (0.01, 20.0),
              "single_noise_sigma": (0.0, 255.0), "blur_sigma2": (0.01, 20.0),
              "resize_range": (0.05, 4.0), "resize_range2": (0.05, 4.0), "noise_sigma": (0.0, 255.0),
              "noise_sigma2": (0.0, 255.0), "poisson_scale": (0.0, 10.0), "poisson_scale2": (0.0, 10.0),
              "jpeg_quality": (1, 100), "jpeg_quality2": (1, 100)}
    for name, (lo, hi) in ranges.items():
        value = getattr(r, name)
        if len(value) != 2 or not lo <= value[0] <= value[1] <= hi:
            raise ConfigError(f"{where}.{name}", f"must be [low, high] with {lo} <= low <= high <= {hi}, got {list(value)}")
    for name in ("resize_probs", "resize_probs2"):
        value = getattr(r, name)
        if len(value) != 3 or min(value) < 0 or sum(value) <= 0:
            raise ConfigError(f"{where}.{name}", f"must be three chances (up, down, keep), >= 0, not all 0; got {list(value)}")
    bad = [m for m in r.single_resize if m not in SINGLE_RESIZE_MODES]
    if not r.single_resize or bad:
        raise ConfigError(f"{where}.single_resize", f"must be a non-empty list of {', '.join(SINGLE_RESIZE_MODES)}; got {list(r.single_resize)}")
    bad = [k for k in r.kernel_types if k not in _KERNEL_KINDS]
    if not r.kernel_types or bad:
        raise ConfigError(f"{where}.kernel_types", f"must be a non-empty list of {', '.join(_KERNEL_KINDS)}; got {list(r.kernel_types)}")
    if len(r.kernel_probs) != len(r.kernel_types) or min(r.kernel_probs) < 0 or sum(r.kernel_probs) <= 0:
        raise ConfigError(f"{where}.kernel_probs", f"must give one chance >= 0 per kernel type ({len(r.kernel_types)}), got {list(r.kernel_probs)}")
    if not 0 <= r.threads <= 64:
        raise ConfigError(f"{where}.threads", f"must be 0 (auto) to 64, got {r.threads}")
    if not r.kernel_sizes or any(k < 1 or k % 2 == 0 or k > 41 for k in r.kernel_sizes):
        raise ConfigError(f"{where}.kernel_sizes", f"must be odd sizes from 1 to 41, got {list(r.kernel_sizes)}")
