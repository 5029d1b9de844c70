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


class Upsampler(nn.Sequential):
    """log2(scale) x [conv3x3 C->4C, PixelShuffle(2), PReLU]."""

    def __init__(self, channels: int, scale: int) -> None:
        layers: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            layers += [nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU()]
        super().__init__(*layers)


def bicubic_up(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upscaling used by global skips and by the pre-upsampling wrappers.

    Upscaling needs no antialiasing, so this matches MATLAB's bicubic away from the borders.
    """
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
