"""scripts/detail_ratio.py: the measures used to pick and describe the shipped GAN model."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/detail_ratio.py")


def _photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[:128, :128].copy()


def test_measures_are_neutral_for_a_perfect_output(script):
    hr = _photo()
    assert script.grid_bias(hr, hr) == 0.0
    assert script.colour_shift(hr, hr) == 0.0
    assert script.laplacian_energy(hr) / script.laplacian_energy(hr) == 1.0


def test_grid_sees_a_period_4_pattern_and_ignores_plain_noise(script):
    hr = _photo().astype(np.int16)
    rng = np.random.default_rng(0)
    noise = rng.integers(-6, 7, hr.shape[:2])[..., None]
    grid = np.zeros(hr.shape[:2], np.int16)
    grid[::4, ::4] = 8  # one pixel in 16 brighter: a pixel-shuffle checkerboard
    noisy = np.clip(hr + noise, 0, 255).astype(np.uint8)
    gridded = np.clip(hr + grid[..., None], 0, 255).astype(np.uint8)
    hr = hr.astype(np.uint8)
    assert script.grid_bias(hr, gridded) > 1.0
    assert script.grid_bias(hr, noisy) < 0.3
    # Both add high frequencies, so both raise the detail ratio above 1.
    assert script.laplacian_energy(noisy) > script.laplacian_energy(hr)


def test_colour_shift_sees_a_tint_and_not_a_brightness_change(script):
    hr = _photo().astype(np.int16)
    bluer = np.clip(hr + np.array([0, 0, 6]), 0, 255).astype(np.uint8)
    brighter = np.clip(hr + 6, 0, 255).astype(np.uint8)
    hr = hr.astype(np.uint8)
    assert script.colour_shift(hr, bluer) > 2.0
    assert script.colour_shift(hr, brighter) < 0.3


def test_overshoot_sees_halos_from_sharpening_not_blur(script):
    from scipy import ndimage

    hr = _photo()
    f = hr.astype(np.float64)
    soft = np.stack([ndimage.gaussian_filter(f[..., c], 1.5) for c in range(3)], -1)
    sharpened = np.clip(f + 1.5 * (f - soft), 0, 255).round().astype(np.uint8)  # unsharp mask: halos
    blurred = soft.round().astype(np.uint8)
    assert script.overshoot(hr, hr) == 0.0
    assert script.overshoot(hr, sharpened) > 1.0  # levels (measured 2.8 on this crop)
    assert script.overshoot(hr, blurred) < 0.5 * script.overshoot(hr, sharpened)


def test_set_grid_keeps_a_lattice_shared_by_the_images_and_averages_out_their_own_scatter(script):
    from skimage import data

    lattice = np.zeros((128, 128), np.int16)
    lattice[::4, ::4] = 4  # the same checkerboard in every image
    shared, scattered = np.zeros((2, 4, 4)), np.zeros((2, 4, 4))
    per_image = []
    images = (data.astronaut(), data.chelsea(), data.coffee(), data.rocket())
    for img, (i, j) in zip((im[:128, :128] for im in images), ((0, 1), (1, 2), (2, 3), (3, 0))):
        hr = img.astype(np.int16)
        own = np.zeros((128, 128), np.int16)
        own[i::4, j::4] = 4  # a lattice at a position of this image's own: no shared pattern
        a = np.clip(hr + lattice[..., None], 0, 255).astype(np.uint8)
        b = np.clip(hr + own[..., None], 0, 255).astype(np.uint8)
        shared += script.position_error_sums(img, a)
        scattered += script.position_error_sums(img, b)
        per_image.append(script.grid_bias(img, b))
    # +4 in R, G and B is +3.4 in Y (BT.601), at one position of 16: a spread of 3.4 * sqrt(15) / 16 = 0.83
    assert script.pooled_grid(shared) > 0.75
    assert min(per_image) > 0.75  # each image alone shows its own lattice...
    assert script.pooled_grid(scattered) < 0.6 * script.pooled_grid(shared)  # ...pooling spreads it out


def test_dot_lattice_sees_content_signed_dots_that_grid_misses(script):
    hr = _photo().astype(np.int16)
    y = hr.mean(-1)
    dots = np.zeros(y.shape, np.int16)
    dots[1::4, 2::4] = np.where(y[1::4, 2::4] > y.mean(), -10, 10)  # dark on light, light on dark
    dotted = np.clip(hr + dots[..., None], 0, 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    noisy = np.clip(hr + rng.normal(0, 2.5, hr.shape[:2])[..., None], 0, 255).astype(np.uint8)  # same energy, no lattice
    hr = hr.astype(np.uint8)
    assert script.dot_lattice(hr) < 0.15  # 0.10 on this small crop (few samples per position)
    assert script.dot_lattice(dotted) > 0.5
    assert script.dot_lattice(noisy) < 0.15
    same_sign = np.clip(hr.astype(np.int16) + np.abs(dots)[..., None], 0, 255).astype(np.uint8)
    assert script.grid_bias(hr, dotted) < 0.3 * script.grid_bias(hr, same_sign)  # the mean error mostly cancels


def test_the_validation_and_the_script_use_one_dot_lattice_measure(script):
    from trainer import metrics

    assert script.dot_lattice is metrics.dot_lattice
