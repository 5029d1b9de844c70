"""Model zoo: every architecture is registered here, explicitly, in one place.

Use ``build(name, **hparams)`` to make a network (``build_model`` for it with its description, a
``trainer.loaded_model.LoadedModel``); ``list(kind)`` to enumerate; ``get(name)`` for the
spec. Importing this package registers the built-in architectures exactly once.
"""

from trainer.loaded_model import LoadedModel
from trainer.models.discriminators import srgan_d, vgg_feature_d
from trainer.models.preupsample import srcnn, vdsr
from trainer.models.registry import ArchSpec, build, build_model, describe, full_hparams, get, list, register  # noqa: A004
from trainer.models.size import ModelTooLargeError, check_size, estimate
from trainer.models.srresnet import srresnet
from trainer.models.unet_d import unet_d
from trainer.models.wdrn import wdrn

register("srresnet", srresnet, kind="generator", description="SRResNet / SRGAN generator (Ledig et al. 2017)")
register("wdrn", wdrn, kind="generator", description="Weighted dense residual network (SRResNet with 0.5^distance dense skips)")
register("srcnn", srcnn, kind="generator", description="SRCNN 9-1-5 on bicubic-upscaled input (Dong et al. 2014)")
register("vdsr", vdsr, kind="generator", description="VDSR, 20 conv layers, residual over bicubic (Kim et al. 2016)")
register("srgan_d", srgan_d, kind="discriminator", description="SRGAN discriminator (Ledig et al. 2017), any crop size")
register("unet_d", unet_d, kind="discriminator", description="U-Net discriminator with spectral norm, per-pixel logits (Real-ESRGAN)")
register("vgg_feature_d", vgg_feature_d, kind="discriminator", description="Frozen VGG19 features with a small trainable head")

__all__ = ["ArchSpec", "LoadedModel", "ModelTooLargeError", "check_size", "estimate", "build", "build_model", "describe", "full_hparams", "get", "list", "register"]
