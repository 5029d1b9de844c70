"""Building what a run needs, before its first step (so a bad setting fails before training).

Everything that can refuse to start lives here: the data folder, the validation folder, the VGG
weights of a content loss, the discriminators, the generator and its initial weights.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from torch import nn

from trainer.config import TrainingConfig
from trainer.loaded_model import LoadedModel
from trainer.train.losses import ContentLoss


def amp_dtype(precision: str, device: torch.device) -> torch.dtype:
    """Autocast dtype: ``auto`` = bf16 on CUDA when supported (else fp16), fp32 elsewhere."""
    from trainer.device import resolve_dtype

    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return resolve_dtype(precision, device)


def use_channels_last(setting: str, device: torch.device) -> bool:
    """Whether training runs channels-last: ``auto`` = on for CUDA (cuDNN's NHWC kernels and tensor
    cores) and for the CPU (oneDNN's NHWC kernels), off elsewhere (MPS...).

    Measured on this project's 2-core x86 CPU (batch 16, 96x96 crops, one process, nothing else
    running): SRResNet forward + backward 2.7 s channels-last vs 3.1-3.4 s NCHW, VGG19 to relu5_4
    2.5-2.6 s vs 3.0-3.4 s, SRGAN discriminator the same; a 12-step ``srresnet`` run 42/38 s vs 56/46 s.
    The worst NCHW layer is SRResNet's last 9x9 convolution to 3 channels: 0.70 s forward + backward
    against 0.34 s channels-last. (An earlier measurement had found the CPU 2.5x slower
    channels-last; it did not reproduce once each process had the machine to itself.)
    """
    if setting == "auto":
        return device.type in ("cuda", "cpu")
    return setting == "on"


def describe_device(device: torch.device) -> str:
    """``cpu (2 threads)`` or ``cuda:0 (NVIDIA H100 ...)``."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({torch.get_num_threads()} threads)"


def default_run_dir(config: TrainingConfig) -> Path:
    """``runs/<recipe>-<YYYYmmdd-HHMMSS>`` under the current folder."""
    return Path("runs") / f"{config.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"


def resolve_val_dir(config: TrainingConfig) -> Path | None:
    """The validation folder: ``auto`` = Set5 of the shared benchmarks when present, ``""`` = none."""
    from trainer.train.validation import default_val_dir

    value = config.data.val_dir
    if config.data.holdout:  # the held-out training images validate (trainer.train.data.ImageStore)
        return None
    if value == "auto":
        return default_val_dir()
    return Path(value).expanduser() if value else None


def build_generator(config: TrainingConfig) -> nn.Module:
    """The generator from the registry (``scale`` from ``data.scale``), optionally from a model file."""
    from trainer import models

    if config.model.hparams.get("lattice_notch"):
        raise ValueError("model.hparams.lattice_notch is for finished models (trainer.interpolate.with_lattice_notch, "
                         "scripts/interpolate_models.py --notch), not for training: remove it from the config")
    model = models.build(config.model.arch, scale=config.data.scale, **config.model.hparams)
    if config.model.init_weights:
        from trainer.modelfile import load_model

        path = Path(config.model.init_weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: model file for model.init_weights not found")
        source = load_model(path)
        if getattr(source.module, "reference", None) is not None:  # a notched file: its own weights only
            source.module.reference = source.module.notch = None
        built = describe_generator(config, model)
        src, hp = dict(source.hparams), dict(built.hparams)
        src = _notch_as(src, hp)
        if not init_compatible(source.arch, src, built.arch, hp):
            raise ValueError(
                f"{path}: model.init_weights holds {source.arch} {src}, but the config builds "
                f"{built.arch} {hp}; set model.arch/model.hparams to match"
            )
        if _retied(source.arch, src, built.arch, hp):
            _load_retied(model, source.module)
        elif _grown(source.arch, src, built.arch, hp):
            _load_grown(model, source.module)
        else:
            model.load_state_dict(source.module.state_dict())
    return model


def init_compatible(src_arch: str, src: dict, arch: str, hp: dict) -> bool:
    """Whether a model file of ``src_arch`` / ``src`` can start a network ``arch`` / ``hp`` through
    ``model.init_weights``: the same network, or one that differs only by the upsampler (see
    :func:`_retied`), or only by more residual blocks (see :func:`_grown`). A file with a lattice
    notch (a finished model, e.g. the shipped ``srgan_x4``) starts the network from its own weights:
    the frozen reference it carries is left out. Missing hyperparameters count as their defaults."""
    from trainer import models

    try:
        src, hp = models.full_hparams(src_arch, src), models.full_hparams(arch, hp)
    except (KeyError, TypeError):
        return False
    src = _notch_as(src, hp)
    return (src_arch == arch and src == hp) or _retied(src_arch, src, arch, hp) or _grown(src_arch, src, arch, hp)


def _notch_as(src: dict, hp: dict) -> dict:
    """``src`` as the network it trains: a lattice notch (and its reference) is not carried over."""
    return {**src, "lattice_notch": hp["lattice_notch"]} if "lattice_notch" in hp else src


def _grown(src_arch: str, src: dict, arch: str, hp: dict) -> bool:
    """Whether the init file is the built SRResNet with fewer residual blocks: the extra blocks then
    start as identities (their last BatchNorm scaled to zero), so the deeper network starts exactly as
    the file's and the capacity is added without losing what the file learnt."""
    if src_arch != arch or arch != "srresnet" or hp.get("num_blocks", 16) <= src.get("num_blocks", 16):
        return False
    return _same_but(src, hp, "num_blocks")


def _same_but(src: dict, hp: dict, key: str) -> bool:
    """Whether two hyperparameter sets agree on everything except ``key``."""
    return {k: v for k, v in src.items() if k != key} == {k: v for k, v in hp.items() if k != key}


def _load_grown(model: nn.Module, source: nn.Module) -> None:
    """Load ``source``'s weights into the deeper ``model``; its extra residual blocks become identities."""
    missing, unexpected = model.load_state_dict(source.state_dict(), strict=False)
    first = len(source.body)
    new = tuple(f"body.{i}." for i in range(first, len(model.body)))
    if unexpected or any(not k.startswith(new) for k in missing):
        raise ValueError(f"init weights do not fit the network: missing {sorted(missing)}, unexpected {sorted(unexpected)}")
    with torch.no_grad():
        for block in list(model.body)[first:]:
            last_bn = block.body[-1]
            last_bn.weight.zero_()
            last_bn.bias.zero_()


def _retied(src_arch: str, src: dict, arch: str, hp: dict) -> bool:
    """Whether the init file differs from the built network only by a pixel-shuffle upsampler where
    the config asks for a resize-convolution: then it starts from the file's least-squares fit."""
    if src_arch != arch or src.get("upsampler", "pixelshuffle") != "pixelshuffle":
        return False
    if hp.get("upsampler", "pixelshuffle") == "pixelshuffle":
        return False
    return _same_but(src, hp, "upsampler")


def _load_retied(model: nn.Module, source: nn.Module) -> None:
    """Load ``source``'s weights into ``model``, fitting each free sub-pixel conv of its upsampler to
    the tied form (:meth:`trainer.models.common.TiedSubpixelConv.load_from_subpixel`)."""
    from trainer.models.common import TiedSubpixelConv

    state = source.state_dict()
    tied = {name: m for name, m in model.named_modules() if isinstance(m, TiedSubpixelConv)}
    plain = {k: v for k, v in state.items() if k.rsplit(".", 1)[0] not in tied}
    missing, unexpected = model.load_state_dict(plain, strict=False)
    expected_missing = {f"{name}.{p}" for name in tied for p in ("weight", "bias")}
    if set(missing) != expected_missing or unexpected:
        raise ValueError(f"init weights do not fit the network: missing {sorted(set(missing) - expected_missing)}, "
                         f"unexpected {sorted(unexpected)}")
    for name, m in tied.items():
        m.load_from_subpixel(state[f"{name}.weight"], state[f"{name}.bias"])


def describe_generator(config: TrainingConfig, module: nn.Module) -> LoadedModel:
    """``module``, a generator built from ``config``, with its description (what a model file records)."""
    from trainer import models

    return models.describe(module, config.model.arch, {"scale": config.data.scale, **config.model.hparams})


def build_discriminator(config: TrainingConfig, index: int) -> nn.Module:
    """The discriminator of GAN phase ``index`` (may raise VGGWeightsMissing for vgg_feature_d)."""
    from trainer import models

    d = config.phases[index].discriminator
    module = models.build(d.arch, **d.hparams)
    if d.init_weights:
        from trainer.train.checkpoint import CheckpointError, load_checkpoint

        path = Path(d.init_weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: checkpoint for phases[{index}].discriminator.init_weights not found")
        state = load_checkpoint(path).get("discriminator")  # weights_only: the file is data
        if not state:
            raise CheckpointError(path, "holds no discriminator (phases.discriminator.init_weights)")
        try:  # a travelled discriminator may be fp16: load_state_dict casts to the module's fp32
            module.load_state_dict(state)
        except RuntimeError as exc:
            raise CheckpointError(path, f"its discriminator does not fit {d.arch} {d.hparams} ({str(exc).splitlines()[0]})") from None
    return module


def build_content_losses(config: TrainingConfig) -> dict[int, ContentLoss]:
    """A VGG content loss per phase that has one (refuses to start without the weights)."""
    return {i: ContentLoss(p.content) for i, p in enumerate(config.phases) if p.content.type == "vgg"}


def set_threads(threads: int, world_size: int) -> None:
    """Set torch's CPU threads: the config value, or the cores shared among the local processes."""
    if threads > 0:
        torch.set_num_threads(threads)
    elif world_size > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
