"""Pre-upsampling baselines, SRCNN (Dong et al. 2014) and VDSR (Kim et al. 2016), in RGB.

Both papers feed the network a bicubic-upscaled image. Here the bicubic step is inside ``forward``
so every generator shares one contract: LR float32 (N, 3, H, W) in [0, 1] in, SR (N, 3, sH, sW) out,
not clamped. Any integer scale from 2 to 8 works (bicubic has no power-of-two restriction).
Differences from the papers, all for that contract: RGB instead of the Y channel, and "same"
padding so the output keeps the upscaled size (SRCNN used valid convolutions).
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.common import bicubic_up, check_scale

PREUPSAMPLE_SCALES = tuple(range(2, 9))


class SRCNN(nn.Module):
    """9-1-5 SRCNN: conv9x9 -> ReLU -> conv1x1 -> ReLU -> conv5x5 on the bicubic-upscaled input."""

    def __init__(self, *, scale: int = 4, channels: int = 64, mid_channels: int = 32, in_channels: int = 3) -> None:
        super().__init__()
        self.scale = check_scale(scale, PREUPSAMPLE_SCALES)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, channels, 9, padding=4),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, mid_channels, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, in_channels, 5, padding=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(bicubic_up(x, self.scale))


class VDSR(nn.Module):
    """VDSR: ``depth`` conv3x3 layers (ReLU between them) predicting the residual over bicubic."""

    def __init__(self, *, scale: int = 4, depth: int = 20, channels: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be at least 2, got {depth}")
        self.scale = check_scale(scale, PREUPSAMPLE_SCALES)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(channels, in_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        # He initialisation as in the paper for the convs that feed a ReLU: PyTorch's default shrinks
        # activations layer by layer, which leaves a 20-layer plain ReLU stack nearly untrainable.
        # The last conv keeps the default (smaller) init so the start is close to plain bicubic.
        for m in layers[:-1]:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = bicubic_up(x, self.scale)
        return up + self.body(up)


def srcnn(*, scale: int = 4, channels: int = 64, mid_channels: int = 32) -> SRCNN:
    """Factory registered as ``srcnn`` (9-1-5, 64/32 filters)."""
    return SRCNN(scale=scale, channels=channels, mid_channels=mid_channels)


def vdsr(*, scale: int = 4, depth: int = 20, channels: int = 64) -> VDSR:
    """Factory registered as ``vdsr`` (20 layers, 64 filters, global residual)."""
    return VDSR(scale=scale, depth=depth, channels=channels)
