"""MATLAB-compatible bicubic ``imresize`` for numpy images and torch tensors.

This is the resize of the evaluation protocol (``shared/docs/PROTOCOL.md``): the cubic kernel with
a = -0.5, the kernel stretched by ``1/scale`` when shrinking (antialiasing), mirrored ("symmetric")
borders, one separable pass per axis (the axis with the smaller scale first; rows first on a tie)
and, for uint8 images, a result rounded to uint8.

Each axis is described as MATLAB's ``contributions()`` does: for every output sample a row of
``taps`` weights and the (mirrored) input indices they apply to. numpy applies them as a sum over
taps (cheap for large images); torch turns them into a dense ``out x in`` matrix and uses one
matmul per axis (what accelerators like, and batched over N and C for free).

Both passes run in float64 and uint8 input is rounded (and clipped) to uint8 once, at the end, as
the common Python ports (BasicSR, mmagic) do. This reproduces the reference bicubic figures of
PROTOCOL.md to four decimals (Set5 SSIM 0.8113). Quantising between the passes (which MATLAB's
uint8 code path may do) would give Set5 28.429 dB / 0.8111 instead: inside the tolerance, but not
the project's reference numbers.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: the numpy path (metrics, GUI readouts) does not need it
    import torch

KERNEL_WIDTH = 4.0  # support of the cubic kernel (-2..2)


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=64)
def contributions(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based input indices per output sample along one axis.

    Returns ``(weights, indices)``, both ``(out_length, taps)``; rows of ``weights`` sum to 1 and
    ``indices`` are already mirrored into ``[0, in_length)``. The arrays are cached: treat them as
    read-only.
    """
    if scale < 1:  # antialiasing: stretch the kernel so it low-passes before decimating
        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * x)

        width = KERNEL_WIDTH / scale
    else:
        kernel = cubic
        width = KERNEL_WIDTH
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output sample centre in 1-based input coordinates
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: 1..n, n..1 repeated (the edge sample is repeated, as MATLAB does).
    aux = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = aux[np.mod(indices.astype(np.int64) - 1, aux.size)]
    # Drop tap columns that are zero for every output sample (they only cost time).
    keep = np.any(weights != 0, axis=0)
    weights, indices = weights[:, keep], indices[:, keep]
    weights.setflags(write=False)
    indices.setflags(write=False)
    return weights, indices


@lru_cache(maxsize=64)
def weight_matrix(in_length: int, out_length: int, scale: float) -> np.ndarray:
    """Dense ``(out_length, in_length)`` float64 matrix equivalent to :func:`contributions`.

    Mirrored taps that land on the same input sample are summed. Cached: treat as read-only.
    """
    weights, indices = contributions(in_length, out_length, scale)
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.repeat(np.arange(out_length), weights.shape[1])
    np.add.at(matrix, (rows, indices.ravel()), weights.ravel())
    matrix.setflags(write=False)
    return matrix


def _plan(
    in_shape: tuple[int, int], scale: float | None, output_shape: tuple[int, int] | None
) -> list[tuple[int, int, int, float]]:
    """Per-axis ``(axis, in_len, out_len, scale)`` in MATLAB's order (smallest scale first)."""
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale or output_shape")
    if output_shape is not None:
        out = (int(output_shape[0]), int(output_shape[1]))
        if min(out) < 1:
            raise ValueError(f"output_shape must be positive, got {output_shape}")
        scales = (out[0] / in_shape[0], out[1] / in_shape[1])
    else:
        s = float(scale)  # type: ignore[arg-type]
        if not s > 0 or not math.isfinite(s):
            raise ValueError(f"scale must be a positive number, got {scale}")
        scales = (s, s)
        out = (math.ceil(s * in_shape[0]), math.ceil(s * in_shape[1]))
    if min(in_shape) < 1:
        raise ValueError(f"cannot resize an empty image of shape {in_shape}")
    # Python's sort is stable like MATLAB's, so rows go first when both scales are equal.
    order = sorted((0, 1), key=lambda a: scales[a])
    return [(axis, in_shape[axis], out[axis], scales[axis]) for axis in order]


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    *,
    output_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB's ``imresize(img, scale, 'bicubic')``.

    Give either ``scale`` (output size ``ceil(scale * size)``, e.g. 0.25 for the x4 LR image) or
    ``output_shape=(height, width)``. uint8 input gives uint8 output (computed in float64, rounded
    and clipped once at the end); any other dtype is computed and returned as float64.
    """
    arr = np.asarray(img)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected an HxW or HxWxC image, got shape {arr.shape}")
    out = arr.astype(np.float64)
    for axis, n_in, n_out, s in _plan(arr.shape[:2], scale, output_shape):
        weights, indices = contributions(n_in, n_out, s)
        # Contiguous along the resized axis: each tap then gathers whole rows (about 7x faster).
        src = np.ascontiguousarray(np.moveaxis(out, axis, 0))
        acc = np.zeros((n_out,) + src.shape[1:], dtype=np.float64)
        extra = (slice(None),) + (None,) * (src.ndim - 1)
        for k in range(weights.shape[1]):  # a handful of taps: vectorised over everything else
            acc += weights[:, k][extra] * src[indices[:, k]]
        out = np.moveaxis(acc, 0, axis)
    if arr.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out


def imresize_torch(
    x: torch.Tensor,
    scale: float | None = None,
    *,
    output_shape: tuple[int, int] | None = None,
) -> torch.Tensor:
    """The float path of :func:`imresize` on an ``(N, C, H, W)`` float tensor.

    Same weights and pass order as the numpy version, applied as one matmul per axis in the
    tensor's dtype and device; no rounding or clipping (quantise afterwards if the protocol needs
    uint8 values). Differentiable in ``x``.
    """
    import torch

    if x.ndim != 4:
        raise ValueError(f"expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {x.dtype}")
    out = x
    for axis, n_in, n_out, s in _plan((x.shape[2], x.shape[3]), scale, output_shape):
        matrix = torch.from_numpy(weight_matrix(n_in, n_out, s).copy()).to(device=x.device, dtype=x.dtype)
        if axis == 0:
            out = torch.matmul(matrix, out)  # (O, H) @ (N, C, H, W) -> (N, C, O, W)
        else:
            out = torch.matmul(out, matrix.T)  # (N, C, H, W) @ (W, O) -> (N, C, H, O)
    return out
