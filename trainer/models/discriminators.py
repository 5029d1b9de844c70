"""Discriminators for adversarial training: the SRGAN discriminator and a VGG-feature discriminator.

Tensor contract: input float32 (N, 3, H, W) RGB in [0, 1], any H, W >= 16 (the networks pool to a
fixed size, so training crops of 32 or 96 or 128 pixels all work); output raw logits (N, 1), no
sigmoid. A logit suits every GAN loss: BCE-with-logits (vanilla/SRGAN), the relativistic average
loss (ESRGAN) and the WGAN-GP critic score.

WGAN-GP: the gradient penalty is taken per sample, but BatchNorm makes each sample's output depend
on the rest of the batch, so the penalty then constrains the wrong function (Gulrajani et al. 2017,
section 4 recommend no batch normalisation in the critic). Build ``srgan_d`` with ``norm="none"``
for a WGAN-GP critic. ``vgg_feature_d`` has no normalisation layers and works as a critic as it is.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from trainer.vgg import LAYER_INDEX, LAYER_NAMES, VGGFeatures

NORMS = ("batch", "none")


def _check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


class SRGANDiscriminator(nn.Module):
    """Ledig et al. 2017 discriminator, made crop-size independent.

    Eight conv3x3 + LeakyReLU(0.2) layers, widths c, c, 2c, 2c, 4c, 4c, 8c, 8c (c = ``channels``, 64
    in the paper) with strides 1, 2, 1, 2, ...; BatchNorm after every conv but the first (unless
    ``norm="none"``). The paper's flatten assumes 96x96 crops (6x6 maps after four stride-2 convs);
    an adaptive average pool to ``pool_size`` x ``pool_size`` keeps that head for any crop size (and
    is exactly the identity at 96x96 with the default 6). Then dense 1024, LeakyReLU(0.2), dense 1.
    """

    def __init__(
        self, *, channels: int = 64, norm: Literal["batch", "none"] = "batch", pool_size: int = 6, in_channels: int = 3
    ) -> None:
        super().__init__()
        _check_norm(norm)
        widths = [channels, channels, 2 * channels, 2 * channels, 4 * channels, 4 * channels, 8 * channels, 8 * channels]
        layers: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate(widths):
            stride = 1 if i % 2 == 0 else 2
            # A conv followed by BatchNorm needs no bias (BN's shift replaces it).
            with_bn = norm == "batch" and i > 0
            layers.append(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not with_bn))
            if with_bn:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * pool_size * pool_size, 1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


def srgan_d(*, channels: int = 64, norm: str = "batch", pool_size: int = 6) -> SRGANDiscriminator:
    """Factory registered as ``srgan_d`` (``norm="none"`` for WGAN-GP critics)."""
    return SRGANDiscriminator(channels=channels, norm=norm, pool_size=pool_size)


class VGGFeatureDiscriminator(nn.Module):
    """Frozen VGG19 features (up to ``layer``) with a small trainable head.

    Head: conv3x3 -> LeakyReLU(0.2) -> conv3x3 stride 2 -> LeakyReLU(0.2) -> global average pool ->
    dense ``channels`` -> LeakyReLU(0.2) -> dense 1. No normalisation layers (usable as a WGAN-GP
    critic). Only the head is trainable: the VGG weights are buffers (see ``trainer.vgg``), so they
    never appear in ``parameters()`` and toggling ``requires_grad`` on the discriminator leaves them
    alone; gradients still flow through them to the input image (the generator's adversarial term).
    """

    def __init__(self, *, channels: int = 256, layer: str = "relu5_4", vgg_weights: str = "imagenet") -> None:
        super().__init__()
        if layer not in LAYER_INDEX or layer.startswith("pool"):
            raise ValueError(f"layer must be a VGG19 conv/relu layer name, got {layer!r}; known: {', '.join(LAYER_NAMES)}")
        self.layer = layer
        self.vgg = VGGFeatures((layer,), weights=None if vgg_weights == "random" else vgg_weights)
        block = int(layer[4:].split("_")[0])  # "relu5_4" / "conv5_4" -> 5
        vgg_channels = min(64 * 2 ** (block - 1), 512)
        self.head = nn.Sequential(
            nn.Conv2d(vgg_channels, channels, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, channels),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.vgg(x)[self.layer]
        # The head follows the surrounding autocast; VGGFeatures itself always runs in fp32.
        return self.head(feat)


def vgg_feature_d(*, channels: int = 256, layer: str = "relu5_4", vgg_weights: str = "imagenet") -> VGGFeatureDiscriminator:
    """Factory registered as ``vgg_feature_d``; ``vgg_weights``: ``"imagenet"`` | a file path | ``"random"``."""
    return VGGFeatureDiscriminator(channels=channels, layer=layer, vgg_weights=vgg_weights)
