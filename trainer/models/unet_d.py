"""U-Net discriminator with spectral normalisation (the Real-ESRGAN discriminator, Wang et al. 2021).

Why for this project: the SRGAN discriminator pools to one logit per crop, so its only signal is
"this crop looks fake somewhere", and its stride lattice leaks a checkerboard into the generator
(see ``adversarial.shift``). A U-Net gives one logit *per pixel* (local texture judgements,
realness of each region), and spectral normalisation bounds its Lipschitz constant, which keeps the
game stable without batch statistics. Its encoder features also serve as a learnt perceptual
space for a feature-matching loss (``adversarial.feature_matching``, :func:`trainer.train.losses.feature_matching_loss`), the stand-in for VGG
features when the ImageNet VGG19 weights are not available.

Layout (``c`` = ``channels``): conv3x3 c -> three stride-2 conv4x4 downs (2c, 4c, 8c) -> three
bilinear x2 ups with conv3x3 (4c, 2c, c) and additive skips -> two conv3x3 c -> conv3x3 1.
LeakyReLU(0.2) everywhere, spectral norm on every conv but the first and the last. Input float
(N, 3, H, W) in [0, 1]; H and W are padded up to a multiple of 8 (reflect) and the logits cropped
back, so any crop size works. Output (N, 1, H, W) raw logits; with ``return_features=True`` also
the list of encoder feature maps (for feature matching).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class UNetDiscriminatorSN(nn.Module):
    """Per-pixel U-Net discriminator with spectral normalisation (see the module docstring)."""

    def __init__(self, *, channels: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        c = channels
        sn = spectral_norm
        self.conv0 = nn.Conv2d(in_channels, c, 3, padding=1)
        self.down1 = sn(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False))
        self.down2 = sn(nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1, bias=False))
        self.down3 = sn(nn.Conv2d(4 * c, 8 * c, 4, stride=2, padding=1, bias=False))
        self.up1 = sn(nn.Conv2d(8 * c, 4 * c, 3, padding=1, bias=False))
        self.up2 = sn(nn.Conv2d(4 * c, 2 * c, 3, padding=1, bias=False))
        self.up3 = sn(nn.Conv2d(2 * c, c, 3, padding=1, bias=False))
        self.conv1 = sn(nn.Conv2d(c, c, 3, padding=1, bias=False))
        self.conv2 = sn(nn.Conv2d(c, c, 3, padding=1, bias=False))
        self.out = nn.Conv2d(c, 1, 3, padding=1)

    @staticmethod
    def _act(x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, 0.2)

    def forward(self, x: torch.Tensor, return_features: bool = False):  # noqa: ANN201 - tensor or (tensor, list)
        h, w = x.shape[-2:]
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:  # three stride-2 levels need a multiple of 8
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        a = self._act
        x0 = a(self.conv0(x))
        x1 = a(self.down1(x0))
        x2 = a(self.down2(x1))
        x3 = a(self.down3(x2))
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        y = a(self.up1(up(x3))) + x2
        y = a(self.up2(up(y))) + x1
        y = a(self.up3(up(y))) + x0
        y = a(self.conv2(a(self.conv1(y))))
        logits = self.out(y)[..., :h, :w]
        if return_features:
            return logits, [x0, x1, x2, x3]
        return logits


def unet_d(*, channels: int = 64) -> UNetDiscriminatorSN:
    """Factory registered as ``unet_d`` (Real-ESRGAN uses 64 channels; 32 is 4x lighter)."""
    return UNetDiscriminatorSN(channels=channels)
