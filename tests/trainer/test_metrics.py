"""Protocol metrics: Y conversion, shave, PSNR/SSIM conventions, the HR/LR pair, and the bicubic
baselines of PROTOCOL.md reproduced on the shared benchmark sets."""

import math

import numpy as np
import pytest

from trainer.evaluation import evaluate_set
from trainer.imresize import imresize
from trainer.metrics import bicubic_upscale, prepare_pair, psnr_y, rgb_to_y, shave, ssim_y


def test_y_of_known_colours():
    colours = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    y = rgb_to_y(colours)
    assert y.dtype == np.float64 and y.shape == (1, 5)
    np.testing.assert_allclose(y[0], [235.0, 16.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-9)


def test_y_is_not_rounded_and_grey_inputs_match_rgb():
    grey = np.array([[1, 100], [200, 254]], dtype=np.uint8)
    expected = 16 + grey / 255.0 * 219.0  # the three BT.601 weights sum to 219
    np.testing.assert_allclose(rgb_to_y(grey), expected, atol=1e-9)
    np.testing.assert_allclose(rgb_to_y(grey[:, :, None]), expected, atol=1e-9)
    np.testing.assert_allclose(rgb_to_y(np.repeat(grey[:, :, None], 3, axis=2)), expected, atol=1e-9)
    assert rgb_to_y(grey)[0, 0] % 1 != 0


def test_shave_removes_the_border():
    img = np.arange(10 * 12).reshape(10, 12)
    out = shave(img, 3)
    assert out.shape == (4, 6)
    np.testing.assert_array_equal(out, img[3:7, 3:9])
    assert shave(img, 0) is img
    with pytest.raises(ValueError, match="too small"):
        shave(img, 5)


def test_psnr_of_identical_images_is_inf():
    img = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert psnr_y(img, img.copy()) == math.inf
    assert ssim_y(img, img.copy()) == pytest.approx(1.0)


def test_psnr_with_known_mse():
    hr = np.full((16, 16), 100, dtype=np.uint8)
    sr = np.full((16, 16), 110, dtype=np.uint8)
    # Grey levels differ by 10 -> Y differs by 10 * 219 / 255 everywhere, so MSE is its square.
    mse = (10 * 219 / 255) ** 2
    assert psnr_y(hr, sr) == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-9)
    # log10, not ln: 10 * ln(...) would give 67.8 dB.
    assert psnr_y(hr, sr) == pytest.approx(29.4527, abs=1e-4)


def test_metrics_ignore_the_shaved_border():
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[:4] = 0  # damage only the 4-pixel border
    sr[:, -4:] = 255
    assert psnr_y(hr, sr, shave=4) == math.inf
    assert ssim_y(hr, sr, shave=4) == pytest.approx(1.0)
    assert psnr_y(hr, sr, shave=0) < 20
    assert ssim_y(hr, sr, shave=3) < 1.0


def test_metrics_reject_different_sizes():
    with pytest.raises(ValueError, match="sizes differ"):
        psnr_y(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 20, 3), np.uint8))


@pytest.mark.parametrize("shape", [(21, 30, 3), (21, 30), (21, 30, 1)])
def test_prepare_pair_crops_and_downscales(shape):
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    hr, lr = prepare_pair(img, 4)
    assert hr.shape == (20, 28, 3) and lr.shape == (5, 7, 3)
    assert hr.dtype == lr.dtype == np.uint8
    rgb = img if img.ndim == 3 and img.shape[2] == 3 else np.repeat(img.reshape(21, 30, 1), 3, axis=2)
    np.testing.assert_array_equal(hr, rgb[:20, :28])  # cropped at the bottom/right, not centred
    np.testing.assert_array_equal(lr, imresize(hr, 0.25))


def test_bicubic_upscale_returns_uint8_of_scaled_size():
    lr = np.random.default_rng(3).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    up = bicubic_upscale(lr, 4)
    assert up.dtype == np.uint8 and up.shape == (20, 28, 3)
    np.testing.assert_array_equal(up, imresize(lr, 4))


# PROTOCOL.md: bicubic x4 baselines, tolerance +-0.02 dB and +-0.002.
@pytest.mark.parametrize(
    "name, images, psnr, ssim",
    [("Set5", 5, 28.43, 0.8113), ("Set14", 14, 26.09, 0.7050), ("BSD68", 68, 26.07, 0.6833)],
)
def test_bicubic_baselines_of_the_protocol(benchmarks, name, images, psnr, ssim):
    result = evaluate_set(benchmarks / name, None, 4)
    assert result.images == images == len(result.per_image)
    assert result.psnr == pytest.approx(psnr, abs=0.02)
    assert result.ssim == pytest.approx(ssim, abs=0.002)
