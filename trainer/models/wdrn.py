"""WDRN: a weighted dense residual generator, SRResNet with geometrically weighted dense skips."""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.common import ResidualBlock, Upsampler, bicubic_up, check_scale


class WDRN(nn.Module):
    """SRResNet head, upsamplers and tail around a weighted dense chain of residual blocks.

    With x_0 = head(LR) (9x9 conv + PReLU) and B = ``num_blocks`` SRResNet residual blocks:

        x_k = block_k(s_{k-1}),     s_0 = x_0,
        s_k = x_k + sum_{j<k} 0.5^(k-j) x_j          (k = 1..B)

    so every block sees the head and all earlier block outputs, each weighted 0.5 per step of
    distance (the most recent at full weight). The sum is carried as s_k = x_k + 0.5 s_{k-1}, which
    is the same expression in O(1) memory. Then feat = BN(conv3x3(s_B)) + 0.5 x_0, log2(scale)
    pixel-shuffle upsamplers and a 9x9 conv to RGB, as in SRResNet.

    Tensor contract: input float32 (N, 3, H, W) in [0, 1]; output (N, 3, scale*H, scale*W), not
    clamped. ``bicubic_skip`` adds the bicubic-upscaled input to the output (learn the residual).
    """

    def __init__(
        self,
        *,
        scale: int = 4,
        num_blocks: int = 5,
        channels: int = 64,
        in_channels: int = 3,
        bicubic_skip: bool = False,
    ) -> None:
        super().__init__()
        self.scale = check_scale(scale)
        self.bicubic_skip = bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU())
        self.blocks = nn.ModuleList(ResidualBlock(channels) for _ in range(num_blocks))
        self.body_tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsample = Upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, in_channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        s = head
        for block in self.blocks:
            s = block(s) + 0.5 * s
        feat = self.body_tail(s) + 0.5 * head
        out = self.tail(self.upsample(feat))
        if self.bicubic_skip:
            out = out + bicubic_up(x, self.scale)
        return out


def wdrn(*, scale: int = 4, num_blocks: int = 5, channels: int = 64, bicubic_skip: bool = False) -> WDRN:
    """Factory registered as ``wdrn``."""
    return WDRN(scale=scale, num_blocks=num_blocks, channels=channels, bicubic_skip=bicubic_skip)
