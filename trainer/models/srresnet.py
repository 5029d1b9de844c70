"""SRResNet, the SRGAN generator of Ledig et al. 2017 (and its compact 5-block variant)."""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.common import ResidualBlock, Upsampler, bicubic_up, check_scale
from trainer.models.notch import LatticeNotch


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

    ``lattice_notch``: 0 (off), or the window (output pixels) of the lattice notch against a
    reference (:mod:`trainer.models.notch`): the network then carries a second, frozen SRResNet of
    the same shape (``reference``, an MSE-trained one) and its output takes the reference's local
    component at the x``scale`` lattice frequencies instead of its own, so a GAN keeps its texture
    but not the grid it invented there. For finished models (``trainer.interpolate.with_lattice_notch``),
    not for training; it doubles the compute.
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
        lattice_notch: float = 0.0,
    ) -> None:
        super().__init__()
        self.scale = check_scale(scale)
        self.bicubic_skip = bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_blocks)])
        self.body_tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsample = Upsampler(channels, scale, upsampler)
        self.tail = nn.Conv2d(channels, in_channels, 9, padding=4)
        self.notch = self.reference = None
        if lattice_notch:
            self.notch = LatticeNotch(self.scale, lattice_notch)
            self.reference = SRResNet(scale=scale, num_blocks=num_blocks, channels=channels, in_channels=in_channels,
                                      bicubic_skip=bicubic_skip, upsampler=upsampler).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        feat = head + self.body_tail(self.body(head))
        out = self.tail(self.upsample(feat))
        if self.bicubic_skip:
            out = out + bicubic_up(x, self.scale)
        if self.notch is not None and self.reference is not None:
            # out - L(out) + L(ref) = ref + notch(out - ref): L (the lattice component) is linear.
            ref = self.reference(x)
            out = ref + self.notch(out - ref)
        return out


def srresnet(
    *, scale: int = 4, num_blocks: int = 16, channels: int = 64, bicubic_skip: bool = False,
    upsampler: str = "pixelshuffle", lattice_notch: float = 0.0,
) -> SRResNet:
    """Factory registered as ``srresnet`` (B=16 by default; B=5 is the seed projects' compact model)."""
    return SRResNet(scale=scale, num_blocks=num_blocks, channels=channels, bicubic_skip=bicubic_skip, upsampler=upsampler,
                    lattice_notch=lattice_notch)
