"""SRResNet, the SRGAN generator of Ledig et al. 2017 (and its compact 5-block variant)."""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.common import ResidualBlock, Upsampler, bicubic_up, check_scale, grid_planes


class SRResNet(nn.Module):
    """The SRGAN generator.

    9x9 conv + PReLU head; ``num_blocks`` residual blocks; conv3x3-BN with a long skip from the head;
    log2(scale) pixel-shuffle upsamplers; 9x9 conv to RGB.

    Tensor contract: input float32 (N, 3, H, W) in [0, 1]; output (N, 3, scale*H, scale*W), not
    clamped (training losses need the raw values; clamp only when converting to an image).

    ``bicubic_skip`` adds the bicubic-upscaled input to the output, so the network learns only the
    residual over bicubic; it converges much faster on small data and compute and adds no parameters.

    ``upsampler``: ``pixelshuffle`` (the paper's) or a resize-convolution, ``nearest_conv`` /
    ``bilinear_conv`` (:class:`~trainer.models.common.TiedSubpixelConv`: every sub-pixel position
    gets the same gain, so the pixel-shuffle lattice a GAN can exploit is not there to learn).

    ``jpeg_grid``: 0, or the JPEG block size (8) of inputs whose compression grid starts at the
    input's top-left pixel (a decoded JPEG file, a training crop compressed after cropping). The head
    then also sees :func:`~trainer.models.common.grid_planes` (where the 8x8 luma blocks and 16x16
    chroma blocks start), so it can tell a block edge from an image edge; without them a
    convolution cannot know where the grid lies. Tiled inference must start every window on the
    grid (:attr:`grid_align`); the upscaler does.
    """

    def __init__(
        self,
        *,
        scale: int = 4,
        num_blocks: int = 16,
        channels: int = 64,
        in_channels: int = 3,
        bicubic_skip: bool = False,
        upsampler: str = "pixelshuffle",
        jpeg_grid: int = 0,
    ) -> None:
        super().__init__()
        if jpeg_grid < 0:
            raise ValueError(f"jpeg_grid must be 0 (off) or a block size such as 8, got {jpeg_grid}")
        self.scale = check_scale(scale)
        self.bicubic_skip = bicubic_skip
        self.jpeg_grid = jpeg_grid
        #: input pixels every tile window must start on (a multiple of), so its grid planes are the image's
        self.grid_align = 2 * jpeg_grid if jpeg_grid else 1
        extra = 4 if jpeg_grid else 0
        self.head = nn.Sequential(nn.Conv2d(in_channels + extra, channels, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_blocks)])
        self.body_tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsample = Upsampler(channels, scale, upsampler)
        self.tail = nn.Conv2d(channels, in_channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(torch.cat([x, grid_planes(x, self.jpeg_grid)], dim=1) if self.jpeg_grid else x)
        feat = head + self.body_tail(self.body(head))
        out = self.tail(self.upsample(feat))
        if self.bicubic_skip:
            out = out + bicubic_up(x, self.scale)
        return out


def srresnet(
    *, scale: int = 4, num_blocks: int = 16, channels: int = 64, bicubic_skip: bool = False,
    upsampler: str = "pixelshuffle", jpeg_grid: int = 0,
) -> SRResNet:
    """Factory registered as ``srresnet`` (B=16 by default; B=5 is the seed projects' compact model)."""
    return SRResNet(
        scale=scale, num_blocks=num_blocks, channels=channels, bicubic_skip=bicubic_skip, upsampler=upsampler,
        jpeg_grid=jpeg_grid,
    )
