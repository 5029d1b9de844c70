"""MATLAB-compatible bicubic imresize: hand-derived values, an independent direct formula, shapes,
the relation to torch's antialiased bicubic, and numpy/torch agreement."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainer.imresize import imresize, imresize_torch


def keys_cubic(x: float) -> float:
    """Keys' kernel, a = -0.5, written out independently of the module."""
    x = abs(x)
    if x <= 1:
        return 1.5 * x**3 - 2.5 * x**2 + 1
    if x <= 2:
        return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
    return 0.0


def direct_resize_1d(signal, scale: float, out_len: int) -> np.ndarray:
    """Textbook formula: out(x) = sum_j h(u - j) f(mirror(j)) / sum_j h(u - j), 1-based samples."""
    n = len(signal)

    def mirror(j: int) -> int:  # symmetric padding: f(0) = f(1), f(-1) = f(2), f(n+1) = f(n)
        while j < 1 or j > n:
            j = 1 - j if j < 1 else 2 * n + 1 - j
        return j

    s = min(scale, 1.0)  # stretch only when shrinking
    out = []
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        js = range(math.floor(u - 2 / s) - 1, math.ceil(u + 2 / s) + 2)
        w = [s * keys_cubic(s * (u - j)) for j in js]
        out.append(sum(wi * signal[mirror(j) - 1] for wi, j in zip(w, js)) / sum(w))
    return np.array(out)


def direct_resize_2d(img: np.ndarray, scale: float) -> np.ndarray:
    h, w = img.shape
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    rows = np.stack([direct_resize_1d(img[:, c], scale, oh) for c in range(w)], axis=1)
    return np.stack([direct_resize_1d(rows[r], scale, ow) for r in range(oh)], axis=0)


def test_hand_computed_upscale_of_an_impulse():
    # x2: u = x/2 + 0.25. Output 5 (1-based) sits 0.25 from the impulse at 3: cubic(0.25) = 0.8671875;
    # output 4 sits 0.75 away: cubic(0.75) = 0.2265625. Up-scaling weights already sum to 1.
    out = imresize(np.array([[0.0, 0.0, 1.0, 0.0, 0.0]]), output_shape=(1, 10))
    assert out[0, 4] == pytest.approx(0.8671875, abs=1e-12)
    assert out[0, 5] == pytest.approx(0.8671875, abs=1e-12)
    assert out[0, 3] == pytest.approx(0.2265625, abs=1e-12)
    assert out[0, 6] == pytest.approx(0.2265625, abs=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("scale", [0.25, 0.5, 1 / 3, 2, 4])
def test_constant_image_stays_constant(dtype, scale):
    img = np.full((17, 23, 3), 137, dtype=dtype)
    out = imresize(img, scale)
    assert out.dtype == (np.uint8 if dtype == np.uint8 else np.float64)
    np.testing.assert_allclose(out, 137, atol=1e-9)


def test_ramp_downscaled_by_two_is_linear_in_the_interior():
    # The kernel is symmetric about each output centre u = 2o + 0.5 (0-based input coordinates),
    # so a linear ramp is reproduced exactly away from the mirrored borders.
    ramp = np.arange(40, dtype=np.float64)[None, :]
    out = imresize(ramp, output_shape=(1, 20))[0]
    expected = 2 * np.arange(20) + 0.5
    np.testing.assert_allclose(out[3:-3], expected[3:-3], atol=1e-12)
    # First sample by hand: u = 0.5, stretched kernel taps j = -3..4 with normalised weights
    # cubic(d/2)/2 = [-3, -9, 29, 111, 111, 29, -9, -3] / 256 on mirrored values [2, 1, 0, 0, 1, 2, 3, 4]
    # -> 115/256 = 0.44921875 (not 0.5: the mirrored border bends the ramp).
    assert out[0] == pytest.approx(115 / 256, abs=1e-12)


@pytest.mark.parametrize("scale", [0.25, 0.5, 2, 4])
def test_matches_direct_formula_including_borders(scale):
    rng = np.random.default_rng(1)
    img = rng.random((9, 12)) * 255
    np.testing.assert_allclose(imresize(img, scale), direct_resize_2d(img, scale), atol=1e-9)


def test_uint8_result_is_rounded_and_clipped_float_result():
    step = np.zeros((8, 8), dtype=np.uint8)
    step[:, 4:] = 255
    ref = imresize(step.astype(np.float64), 4)
    assert ref.min() < 0 and ref.max() > 255  # bicubic overshoots at an edge
    out = imresize(step, 4)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.clip(np.round(ref), 0, 255))


@pytest.mark.parametrize(
    "shape, kwargs, expected",
    [
        ((10, 13), {"scale": 0.25}, (3, 4)),  # ceil(2.5), ceil(3.25): MATLAB rounds sizes up
        ((10, 13, 3), {"scale": 1 / 3}, (4, 5, 3)),
        ((7, 5), {"scale": 4}, (28, 20)),
        ((10, 13), {"output_shape": (7, 30)}, (7, 30)),
    ],
)
def test_output_shapes(shape, kwargs, expected):
    assert imresize(np.zeros(shape), **kwargs).shape == expected
    t = imresize_torch(torch.zeros((2, 3) + shape[:2]), **kwargs)
    assert tuple(t.shape) == (2, 3) + expected[:2]


@pytest.mark.parametrize("factor", [2, 4])
def test_downscale_matches_torch_antialiased_bicubic_except_two_pixel_border(factor):
    rng = np.random.default_rng(2)
    img = rng.random((48, 64, 3))
    ours = imresize(img, 1 / factor)
    t = torch.from_numpy(img.transpose(2, 0, 1)[None].copy())
    theirs = F.interpolate(t, size=ours.shape[:2], mode="bicubic", antialias=True, align_corners=False)
    theirs = theirs[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours[2:-2, 2:-2], theirs[2:-2, 2:-2], atol=1e-9)
    # torch renormalises a truncated kernel at the border; MATLAB mirrors: they must differ there.
    assert np.abs(ours - theirs).max() > 1e-3


def test_upscale_matches_torch_antialiased_bicubic_in_the_interior():
    rng = np.random.default_rng(3)
    img = rng.random((12, 16))
    ours = imresize(img, 4)
    theirs = F.interpolate(torch.from_numpy(img[None, None]), scale_factor=4, mode="bicubic", antialias=True)[0, 0]
    np.testing.assert_allclose(ours[8:-8, 8:-8], theirs.numpy()[8:-8, 8:-8], atol=1e-9)


@pytest.mark.parametrize("kwargs", [{"scale": 0.25}, {"scale": 0.5}, {"scale": 4}, {"output_shape": (11, 40)}])
def test_numpy_and_torch_agree(kwargs):
    rng = np.random.default_rng(4)
    batch = rng.random((2, 3, 24, 20))
    ref = np.stack([imresize(im.transpose(1, 2, 0), **kwargs).transpose(2, 0, 1) for im in batch])
    out64 = imresize_torch(torch.from_numpy(batch), **kwargs)
    out32 = imresize_torch(torch.from_numpy(batch).float(), **kwargs)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out64.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(out32.numpy(), ref, atol=2e-6)


def test_torch_version_is_differentiable():
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    imresize_torch(x, 0.25).sum().backward()
    # Every input pixel contributes to some output, and the weights of each output sum to 1.
    assert x.grad is not None and x.grad.shape == x.shape
    assert x.grad.sum().item() == pytest.approx(3 * 4 * 4, rel=1e-5)


def test_bad_arguments():
    img = np.zeros((8, 8))
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img, 0.5, output_shape=(4, 4))
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img)
    with pytest.raises(ValueError, match="positive"):
        imresize(img, -2)
    with pytest.raises(ValueError, match="HxW"):
        imresize(np.zeros((1, 2, 8, 8)), 0.5)
    with pytest.raises(ValueError, match="N, C, H, W"):
        imresize_torch(torch.zeros(3, 8, 8), 0.5)
