"""Building blocks shared by the SRGAN-family generators (Ledig et al. 2017)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def check_scale(scale: int, allowed: tuple[int, ...] = (2, 4, 8)) -> int:
    """Validate an upscaling factor (the pixel-shuffle stacks only do powers of two)."""
    if scale not in allowed:
        raise ValueError(f"scale must be one of {allowed}, got {scale!r}")
    return scale


class ResidualBlock(nn.Module):
    """conv3x3-BN-PReLU-conv3x3-BN with an identity skip (the SRResNet block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


UPSAMPLERS = ("pixelshuffle", "nearest_conv", "bilinear_conv")


def _phase_map(interp: str) -> torch.Tensor:
    """(36, 9): the linear map from a 3x3 kernel at the high resolution (taps ``t``, flattened) to the
    four 3x3 phase kernels at the low resolution, rows ordered ``(a, b, r, q)``.

    Upsampling x2 then a 3x3 convolution at the high resolution is, exactly, a 3x3 convolution at
    the low resolution with 4 output phases (one per sub-pixel position) and a pixel shuffle; the
    kernel of phase ``(a, b)`` is ``M[a] @ w @ M[b].T``, where ``M[a, r, t]`` = the weight of the
    input pixel at offset ``r - 1`` in the resized pixel that the conv's tap ``t - 1`` reads.
    """
    if interp == "nearest":  # resized pixel 2i+a+t reads input pixel floor((a+t)/2)
        m0 = [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
        m1 = [[0, 0, 0], [1, 1, 0], [0, 0, 1]]
    elif interp == "bilinear":  # half-pixel centres (align_corners=False): 1/4-3/4 weights
        m0 = [[0.75, 0.25, 0], [0.25, 0.75, 0.75], [0, 0, 0.25]]
        m1 = [[0.25, 0, 0], [0.75, 0.75, 0.25], [0, 0.25, 0.75]]
    else:
        raise ValueError(f"unknown interpolation {interp!r} (nearest, bilinear)")
    m = torch.tensor([m0, m1], dtype=torch.float64)
    basis = torch.eye(9, dtype=torch.float64).reshape(9, 3, 3)
    return torch.einsum("ars,nst,bqt->abrqn", m, basis, m).reshape(36, 9)


class TiedSubpixelConv(nn.Module):
    """Resize-convolution (Odena et al. 2016) computed as a sub-pixel convolution: a x2 resize
    (``nearest`` or ``bilinear``) followed by a 3x3 conv ``C_in -> C_out`` at the high resolution,
    written as one 3x3 conv ``C_in -> 4 C_out`` at the low resolution whose four phase kernels are
    tied to the one learnt kernel; a :class:`torch.nn.PixelShuffle` (2) follows it.

    Why: a free pixel-shuffle conv can give each of the 4 (16 at x4) output positions its own gain,
    the lattice a GAN learns to exploit (docs/GAN_RECIPE.md: grid, dot lattice); tied kernels give
    every position the same DC gain (a flat input stays flat) and smooth phase responses. Written
    at the low resolution, it costs what the free conv costs, never builds the resized tensor, and
    :meth:`to_conv` turns it into a plain ``nn.Conv2d`` for inference and export.

    Borders: zero padding at the low resolution. For ``nearest`` that is exactly zero padding after
    the resize; for ``bilinear`` the outermost two output pixels differ from resize-then-conv
    (whose resize clamps at the border): a different, equally valid, network, used alike in
    training and inference.
    """

    def __init__(self, in_channels: int, out_channels: int, interp: str = "nearest") -> None:
        super().__init__()
        self.interp = interp
        self.register_buffer("tap_map", _phase_map(interp).float(), persistent=False)
        conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)  # its default initialisation
        self.weight = nn.Parameter(conv.weight.detach().clone())
        self.bias = nn.Parameter(conv.bias.detach().clone())

    def phase_kernels(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The equivalent sub-pixel conv's weight (4 C_out, C_in, 3, 3) and bias (4 C_out), in
        :class:`~torch.nn.PixelShuffle` channel order (``c * 4 + 2 * a + b``)."""
        c_out, c_in = self.weight.shape[:2]
        k = self.weight.reshape(c_out, c_in, 9) @ self.tap_map.to(self.weight.dtype).T  # (C_out, C_in, 36)
        k = k.reshape(c_out, c_in, 2, 2, 3, 3).permute(0, 2, 3, 1, 4, 5)  # (C_out, a, b, C_in, 3, 3)
        return k.reshape(-1, c_in, 3, 3), self.bias.repeat_interleave(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.phase_kernels()
        return F.conv2d(x, weight.to(x.dtype), bias.to(x.dtype), padding=1)

    def to_conv(self) -> nn.Conv2d:
        """A plain conv with the same output (inference rewrites, ONNX, OpenVINO)."""
        weight, bias = self.phase_kernels()
        conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1).to(weight.device)
        with torch.no_grad():
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
        return conv

    @torch.no_grad()
    def load_from_subpixel(self, weight: torch.Tensor, bias: torch.Tensor) -> float:
        """Set the kernel to the least-squares fit of a free sub-pixel conv's (4 C_out, C_in, 3, 3)
        ``weight`` (e.g. a trained pixel-shuffle SRResNet's) and the mean of its phase biases, so
        a resize-conv network can start from one. Returns the relative residual of the fit."""
        t = _phase_map(self.interp)
        c_out, c_in = self.weight.shape[:2]
        target = weight.double().reshape(c_out, 2, 2, c_in, 3, 3).permute(1, 2, 4, 5, 0, 3).reshape(36, -1)
        fit = torch.linalg.lstsq(t, target).solution  # (9, C_out * C_in)
        self.weight.copy_(fit.reshape(3, 3, c_out, c_in).permute(2, 3, 0, 1).to(self.weight.dtype))
        self.bias.copy_(bias.reshape(c_out, 4).mean(dim=1).to(self.bias.dtype))
        residual = (t @ fit - target).norm() / target.norm().clamp_min(1e-12)
        return float(residual)


class Upsampler(nn.Sequential):
    """log2(scale) x [conv3x3 C->4C, PixelShuffle(2), PReLU].

    ``mode``: ``pixelshuffle`` (free sub-pixel conv, Shi et al. 2016, as in SRGAN), or
    ``nearest_conv`` / ``bilinear_conv`` (:class:`TiedSubpixelConv`: a resize-convolution, same
    cost and the same module layout, so the weight names are the same; only the conv's weight shape
    differs: (C, C, 3, 3)).
    """

    def __init__(self, channels: int, scale: int, mode: str = "pixelshuffle") -> None:
        if mode not in UPSAMPLERS:
            raise ValueError(f"upsampler must be one of {UPSAMPLERS}, got {mode!r}")
        layers: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            if mode == "pixelshuffle":
                conv: nn.Module = nn.Conv2d(channels, channels * 4, 3, padding=1)
            else:
                conv = TiedSubpixelConv(channels, channels, mode.removesuffix("_conv"))
            layers += [conv, nn.PixelShuffle(2), nn.PReLU()]
        super().__init__(*layers)


def bicubic_up(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upscaling used by global skips and by the pre-upsampling wrappers.

    Upscaling needs no antialiasing, so this matches MATLAB's bicubic away from the borders.
    """
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
