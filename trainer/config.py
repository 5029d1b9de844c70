"""Training configuration: frozen, typed dataclasses, TOML at the edges, recipes by name.

A :class:`TrainingConfig` is everything a run needs apart from where it writes: the generator
(``model``), the data (``data``), one or more ``phases`` (each with its losses, optimiser, schedule
and, for GAN phases, the discriminator) and the ``runtime`` (device, precision, intervals). Every
weight, learning rate, schedule, crop, batch size, iteration count and interval is a field.

TOML layout (the same as :func:`to_toml` writes)::

    recipe = "quick"
    [model]
    arch = "srresnet"
    hparams = { num_blocks = 4, channels = 32, bicubic_skip = true }
    [data]
    train_dir = "..."
    crop = 96
    [[phases]]
    name = "pretrain"
    iterations = 2000
    [phases.pixel]
    type = "l1"
    [runtime]
    seed = 0

Validation errors are :class:`ConfigError` and name the field (``phases[1].adversarial.type: ...``).
Overrides use dotted keys (see :func:`apply_overrides`).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from trainer.config_realistic import RealisticConfig, check_realistic
from trainer.tomlconf import ConfigError, dumps, from_dict, set_path, to_dict

RECIPE_PACKAGE = "trainer.recipes"
__all__ = [
    "AdversarialConfig", "ConfigError", "RealisticConfig", "ContentLossConfig", "DataConfig", "DiscriminatorConfig", "ModelConfig",
    "OptimizerConfig", "PhaseConfig", "PixelLossConfig", "RuntimeConfig", "TrainingConfig", "apply_overrides",
    "from_dict", "list_recipes", "load", "load_recipe", "loads", "parse_value", "save", "to_dict", "to_toml", "validate",
]


def _choice(*values: str) -> dict[str, Any]:
    return {"choices": values}


def field_choices(cls: type, name: str) -> tuple[str, ...]:
    """The values a config dataclass's choice field accepts, in the order it lists them."""
    return next(f.metadata["choices"] for f in dataclasses.fields(cls) if f.name == name)


LATTICE_SCOPES = ("batch", "image")  # trainer.train.losses.lattice_loss(scope=...)


def _min(value: float, *, exclusive: bool = False) -> dict[str, Any]:
    return {"min": value, "exclusive": exclusive}


@dataclass(frozen=True)
class ModelConfig:
    """The generator: a registry name and its hyperparameters (``scale`` comes from ``data.scale``).

    ``init_weights``: optional model file (e.g. an exported SRResNet) to start from; its
    architecture and hyperparameters must match, except that a pixel-shuffle SRResNet can start a
    resize-convolution one and a shallower SRResNet a deeper one
    (:func:`trainer.train.setup.init_compatible`).
    """

    arch: str = "srresnet"
    hparams: dict[str, Any] = field(default_factory=dict)
    init_weights: str = ""


@dataclass(frozen=True)
class DataConfig:
    """Training and validation data.

    ``crop`` is the HR crop side (a multiple of ``scale``). ``degradation``: ``bicubic`` (the
    protocol's MATLAB bicubic, applied to the batch), ``bicubic-torch`` (``F.interpolate`` bicubic
    with antialiasing; equal to MATLAB's away from a 2-pixel border), ``gaussian`` (Gaussian blur
    of ``blur_sigma`` then keeping every ``scale``-th pixel), ``realistic`` (random second-order blur,
    resize, noise and JPEG per crop, ranges in ``realistic``; for photo models). ``lr_dir`` (optional) is a folder of
    LR images paired with the HR ones by relative path; it replaces the degradation.
    ``val_dir``: ``auto`` = the benchmark Set5 when present, ``""`` = no validation.
    ``holdout`` > 0: that many training images (spread evenly over the sorted list: a fixed,
    reproducible choice) are kept out of training and validate instead of ``val_dir`` (which must
    stay ``auto`` or empty), so checkpoints are chosen on images that are neither trained on nor
    the benchmarks that only report.
    ``val_degradation``: how validation makes its LR images: ``bicubic`` (the protocol's clean
    MATLAB bicubic) or ``web`` / ``web:SEED`` (the seeded web-like blur, noise and JPEG of
    ``srgan-eval --degradation web``, :mod:`trainer.webdegrade`), so a photo model's best
    checkpoint is chosen on the kind of input it is for.
    """

    train_dir: str = ""
    lr_dir: str = ""
    val_dir: str = "auto"
    scale: int = field(default=4, metadata=_min(2))
    crop: int = field(default=96, metadata=_min(4))
    batch_size: int = field(default=16, metadata=_min(1))
    degradation: str = field(default="bicubic", metadata=_choice("bicubic", "bicubic-torch", "gaussian", "realistic"))
    blur_sigma: float = field(default=1.6, metadata=_min(0, exclusive=True))
    quantize_lr: bool = True  # round the LR to 8-bit levels, as the protocol's uint8 LR images are
    flips: bool = True
    rotations: bool = True
    cache_mb: int = field(default=4096, metadata=_min(0))
    num_workers: int = field(default=0, metadata=_min(0))
    val_max_images: int = field(default=0, metadata=_min(0))
    sample_size: int = field(default=96, metadata=_min(0))
    realistic: RealisticConfig = field(default_factory=RealisticConfig)
    holdout: int = field(default=0, metadata=_min(0))
    val_degradation: str = "bicubic"


@dataclass(frozen=True)
class PixelLossConfig:
    """Pixel loss between SR and HR (weight 0 switches it off).

    ``lattice`` > 0 adds ``lattice x`` :func:`trainer.train.losses.lattice_loss`: the spread of the
    batch's mean error over the scale x scale sub-pixel positions, i.e. a constant per-position
    offset, the form a pixel-shuffle checkerboard takes. Independent of ``weight``; 0 = off.
    ``lattice_scope``: ``batch`` (the error pooled over the batch: sees only a lattice every image
    shares) or ``image`` (each crop's own spread, averaged: also sees a lattice whose sign follows the
    content, which pooling cancels; measured in session 14, docs/GAN_RECIPE.md).

    ``phase_energy`` > 0 adds ``phase_energy x`` :func:`trainer.train.losses.phase_energy_loss`: how
    much the fine-detail energy depends on the sub-pixel position, beyond HR's. It sees what
    ``lattice`` cannot: isolated dots at one position of the lattice whose sign follows the content
    (light on dark fur, dark on light), which average out of the mean error. Measured on a 10k-step
    GAN run without it: the dots grew after step 3000; but in four A/B runs with it (weights 0.2-2.0,
    docs/GAN_RECIPE.md) the generator traded the dots for grain or the discriminator won: no recipe
    uses it. 0 = off. ``phase_energy_form``: ``excess`` (only a position's excess over the image's
    mean, so it can only take detail away from a dotted position) or ``relative`` (the first,
    symmetric form: SR's and HR's relative energies per position compared; lowered by grain too).

    ``budget_db`` > 0 gives the phase a PSNR budget (:mod:`trainer.train.budget`): the generator's
    MSE on the training batches may exceed that of a reference network by at most this many dB.
    ``budget_reference``: ``"@start"`` (the generator as the phase starts, e.g. the SRResNet of the
    phase before; checkpoints keep a copy), ``"@init"`` (``model.init_weights``) or a model file of
    the same network. The pixel weight becomes ``weight x m``, the multiplier
    ``m`` >= 1 rising while the gap (averaged over about 100 steps) is over the budget and falling
    back while it is under, by ``budget_rate`` in log m per step per dB (a Lagrange multiplier, as
    GECO, Rezende & Viola 2018). So a GAN can trade PSNR for texture only down to a floor, however
    long it trains. 0 = off. ``budget_batch_stats``: the reference runs with the batch's own
    BatchNorm statistics, as the training generator does, so the gap is the weights' alone (0 at
    the phase start); false: with its stored statistics (the network as it ships), so the
    generator's batch-statistics noise counts too (about 0.06 dB for ``srresnet_rc_x4`` on 8 crops,
    but several dB for a network trained only briefly: the budget would then stop the GAN at once).
    ``gan31`` (docs/GAN_RECIPE.md) ran with false.
    """

    type: str = field(default="mse", metadata=_choice("mse", "l1", "charbonnier"))
    weight: float = field(default=1.0, metadata=_min(0))
    eps: float = field(default=1e-3, metadata=_min(0, exclusive=True))
    lattice: float = field(default=0.0, metadata=_min(0))
    lattice_scope: str = field(default="batch", metadata=_choice(*LATTICE_SCOPES))
    phase_energy: float = field(default=0.0, metadata=_min(0))
    phase_energy_form: str = field(default="excess", metadata=_choice("excess", "relative"))
    budget_db: float = field(default=0.0, metadata=_min(0))
    budget_reference: str = "@start"
    budget_rate: float = field(default=0.02, metadata=_min(0, exclusive=True))
    budget_batch_stats: bool = True


@dataclass(frozen=True)
class ContentLossConfig:
    """VGG19 feature (content/perceptual) loss.

    ``vgg_weights``: ``imagenet`` (torchvision's cache file; the run refuses to start without it), a
    path to a VGG19 state dict, or ``random`` (untrained weights: benchmarks and tests only).
    ``weight`` 0.006 is the SRGAN paper's 1/12.75 rescaling on the MSE of raw features.
    """

    type: str = field(default="none", metadata=_choice("none", "vgg"))
    weight: float = field(default=0.006, metadata=_min(0))
    layers: tuple[str, ...] = ("relu5_4",)
    criterion: str = field(default="mse", metadata=_choice("mse", "l1"))
    vgg_weights: str = "imagenet"


@dataclass(frozen=True)
class AdversarialConfig:
    """Adversarial loss: ``vanilla`` (BCE on logits, SRGAN), ``relativistic`` (average, ESRGAN),
    ``wgan-gp`` (critic with gradient penalty ``gp_weight``).

    ``shift`` > 0: each step, the HR and SR images the discriminator sees are rolled (circularly)
    by one random offset ``(dy, dx)`` in ``[0, shift)``. A strided discriminator's gradient has a
    fixed pattern on its own stride lattice (measured on a trained SRGAN D: ~10% of the mean
    gradient, on real images too), which the generator's pixel-shuffle lattice learns as a
    checkerboard; with random offsets it averages out (to ~1% over 16 offsets). 16 covers the
    SRGAN discriminator's total stride; 0 = off, the paper's setup.

    ``feature_matching`` > 0 adds that weight x the L1 distance between the discriminator's own
    encoder features of SR and of HR (:func:`trainer.models.unet_d.feature_matching_loss`): a
    perceptual loss in a learnt feature space, for training without the ImageNet VGG19 weights.
    It needs a discriminator that returns its features (``unet_d``).

    ``high_pass`` > 0: the discriminator sees only the high frequencies of both images, ``x -
    gaussian_blur(x, high_pass)`` (sigma in HR pixels; Fritsche et al. 2019, "Frequency Separation
    for Real-World Super-Resolution"). The adversarial game then judges texture and edges only, and
    the generator is not pushed to move brightness or colour, which the pixel loss keeps; 0 = off.
    """

    type: str = field(default="none", metadata=_choice("none", "vanilla", "relativistic", "wgan-gp"))
    weight: float = field(default=1e-3, metadata=_min(0))
    gp_weight: float = field(default=10.0, metadata=_min(0))
    shift: int = field(default=0, metadata=_min(0))
    feature_matching: float = field(default=0.0, metadata=_min(0))
    high_pass: float = field(default=0.0, metadata=_min(0))


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam and its learning-rate schedule.

    ``schedule``: ``constant``, ``step`` (multiply by ``gamma`` at each of ``milestones``, given as
    fractions of the phase, e.g. ``[0.5]`` = the second half at lr*gamma) or ``cosine`` (to
    ``lr*gamma``). ``warmup_steps`` ramps the lr up linearly. ``grad_clip`` > 0 clips the global
    gradient norm.
    """

    lr: float = field(default=1e-4, metadata=_min(0, exclusive=True))
    beta1: float = field(default=0.9, metadata=_min(0))
    beta2: float = field(default=0.999, metadata=_min(0))
    weight_decay: float = field(default=0.0, metadata=_min(0))
    schedule: str = field(default="constant", metadata=_choice("constant", "step", "cosine"))
    milestones: tuple[float, ...] = ()
    gamma: float = field(default=0.1, metadata=_min(0))
    warmup_steps: int = field(default=0, metadata=_min(0))
    grad_clip: float = field(default=0.0, metadata=_min(0))


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The discriminator (critic) of a GAN phase: registry name, hyperparameters, optimiser.

    ``init_weights``: optional training checkpoint (``.pt``, e.g. a GPU run's ``*_continue.pt``)
    whose discriminator starts this phase, so a GAN continued elsewhere keeps its trained critic.
    """

    arch: str = "srgan_d"
    hparams: dict[str, Any] = field(default_factory=dict)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    init_weights: str = ""


@dataclass(frozen=True)
class PhaseConfig:
    """One training phase. A phase with ``adversarial.type != "none"`` trains a discriminator.

    ``init``: how the generator enters this phase from the previous one: ``ema`` (the EMA weights,
    the ones that were evaluated) or ``raw`` (the optimised weights). ``export``: model file name
    (without suffix) written when the phase ends; empty = ``<recipe>_x<scale>`` for the last phase
    and ``<recipe>_x<scale>_<name>`` for the others. ``time_limit_s`` > 0 ends the phase early.
    ``iterations = 0`` skips the phase (e.g. the pretraining when ``model.init_weights`` is given).
    """

    name: str = "pretrain"
    iterations: int = field(default=1000, metadata=_min(0))
    init: str = field(default="ema", metadata=_choice("ema", "raw"))
    pixel: PixelLossConfig = field(default_factory=PixelLossConfig)
    content: ContentLossConfig = field(default_factory=ContentLossConfig)
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    export: str = ""
    time_limit_s: float = field(default=0.0, metadata=_min(0))

    @property
    def is_gan(self) -> bool:
        """True when this phase trains a discriminator."""
        return self.adversarial.type != "none"


@dataclass(frozen=True)
class RuntimeConfig:
    """How the run executes: device, precision, speed options, EMA and intervals (in steps).

    ``precision``: ``auto`` = bf16 autocast on GPUs that support it (else fp16 with GradScalers),
    fp32 on the CPU. ``channels_last``: ``auto`` = on for CUDA and the CPU (faster on both), off elsewhere. ``threads`` 0 = torch's default.
    ``ema_decay`` 0 disables the EMA (the exported weights are then the raw ones).
    ``nan_patience``: consecutive non-finite steps tolerated (skipped) before the run stops.
    ``val_niqe``: validation also gives the NIQE of the outputs (no-reference, lower is better;
    :mod:`trainer.niqe`), the figure that rewards real detail where PSNR rewards blur: for GAN runs.
    ``val_blend``: a PSNR-oriented model file of the generator's shape (the network a GAN phase
    started from); each validation then also measures the *deployed form*
    ``(1 - val_blend_alpha) * that + val_blend_alpha * EMA generator`` (network interpolation), with the
    lattice notch against that file when ``val_blend_notch`` (sigma, output pixels) is > 0: the form
    docs/GAN_RECIPE.md ships, so its PSNR floor can be checked at every validation
    (:mod:`trainer.train.deployed`).
    """

    seed: int = 0
    device: str = "auto"
    precision: str = field(default="auto", metadata=_choice("auto", "fp32", "fp16", "bf16"))
    channels_last: str = field(default="auto", metadata=_choice("auto", "on", "off"))
    compile: bool = False
    threads: int = field(default=0, metadata=_min(0))
    ema_decay: float = field(default=0.999, metadata=_min(0))
    nan_patience: int = field(default=20, metadata=_min(1))
    log_interval: int = field(default=10, metadata=_min(1))
    val_interval: int = field(default=500, metadata=_min(0))
    val_niqe: bool = False
    val_blend: str = ""
    val_blend_alpha: float = field(default=0.75, metadata={"prob": True})
    val_blend_notch: float = field(default=0.0, metadata=_min(0))
    checkpoint_interval: int = field(default=500, metadata=_min(0))
    keep_last: int = field(default=3, metadata=_min(1))
    export_on_stop: bool = True


@dataclass(frozen=True)
class TrainingConfig:
    """A whole training run (see the module docstring for the TOML layout)."""

    recipe: str = "custom"
    description: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    phases: tuple[PhaseConfig, ...] = (PhaseConfig(),)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    @property
    def total_steps(self) -> int:
        """Sum of the phases' iterations."""
        return sum(p.iterations for p in self.phases)

    def replace(self, **changes: Any) -> TrainingConfig:
        """A copy with top-level fields replaced (validated)."""
        return validate(dataclasses.replace(self, **changes))


# ----------------------------------------------------------------------------------------------
# validation


def _check_fields(obj: Any, path: str) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value):
            _check_fields(value, name)
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(name, f"must be a finite number, got {value!r}")
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}; got {value!r}")
        if f.metadata.get("prob") and not 0.0 <= value <= 1.0:
            raise ConfigError(name, f"must be a probability in [0, 1], got {value!r}")
        if "min" in f.metadata:
            low, excl = f.metadata["min"], f.metadata["exclusive"]
            if value < low or (excl and value == low):
                raise ConfigError(name, f"must be {'>' if excl else '>='} {low}, got {value!r}")


FEATURE_DISCRIMINATORS = ("unet_d",)  # forward(x, return_features=True) -> (logits, [features])
def validate(config: TrainingConfig) -> TrainingConfig:
    """Check ranges, choices and cross-field rules; return ``config`` or raise :class:`ConfigError`."""
    from trainer import models

    _check_fields(config, "")
    if not config.phases:
        raise ConfigError("phases", "at least one phase is needed")
    if config.total_steps < 1:
        raise ConfigError("phases", "every phase has 0 iterations: nothing to train")
    for i, phase in enumerate(config.phases):
        _check_fields(phase, f"phases[{i}]")
    data = config.data
    if data.crop % data.scale:
        raise ConfigError("data.crop", f"must be a multiple of data.scale ({data.scale}), got {data.crop}")
    if data.crop // data.scale < 2:
        raise ConfigError("data.crop", f"too small for scale {data.scale}: the LR crop would be under 2 pixels")
    check_realistic(data.realistic)
    try:
        from trainer.webdegrade import parse_degradation

        parse_degradation(data.val_degradation)
    except ValueError as exc:
        raise ConfigError("data.val_degradation", str(exc)) from None
    if data.holdout and data.val_dir not in ("auto", ""):
        raise ConfigError("data.holdout", f"validate either on held-out images or on data.val_dir ({data.val_dir!r}), not both")
    _check_arch("model.arch", config.model.arch, "generator", config.model.hparams, models)
    rt = config.runtime
    if rt.val_blend and rt.val_blend_alpha == 0:
        raise ConfigError("runtime.val_blend_alpha", "must be > 0: at 0 the deployed form is runtime.val_blend's model itself")
    if rt.val_blend_notch and not rt.val_blend:
        raise ConfigError("runtime.val_blend_notch", "the notch is taken against runtime.val_blend's model: set that too")
    if "scale" in config.model.hparams:
        raise ConfigError("model.hparams.scale", "set data.scale instead (the model's scale follows it)")
    names = [p.name for p in config.phases]
    for i, phase in enumerate(config.phases):
        where = f"phases[{i}]"
        if not phase.name or names.count(phase.name) > 1:
            raise ConfigError(f"{where}.name", f"phase names must be unique and non-empty, got {phase.name!r}")
        if phase.pixel.weight == 0 and phase.content.type == "none" and not phase.is_gan:
            raise ConfigError(f"{where}.pixel.weight", "the phase has no loss: give a pixel, content or adversarial term")
        if phase.pixel.budget_db > 0:
            if phase.pixel.weight == 0:
                raise ConfigError(f"{where}.pixel.budget_db", "the budget scales the pixel loss: give it a pixel.weight > 0")
            if phase.pixel.budget_reference == "@init" and not config.model.init_weights:
                raise ConfigError(f"{where}.pixel.budget_reference",
                                  '"@init" means model.init_weights, which is empty: name the reference model file')
            if not phase.pixel.budget_reference:
                raise ConfigError(f"{where}.pixel.budget_reference", 'name the reference model file (or "@init")')
        for j, m in enumerate(phase.optimizer.milestones):
            if not 0 < m < 1:
                raise ConfigError(f"{where}.optimizer.milestones[{j}]", f"must be a fraction of the phase in (0, 1), got {m}")
        if phase.content.type == "vgg":
            from trainer.vgg import LAYER_INDEX

            if not phase.content.layers:
                raise ConfigError(f"{where}.content.layers", "give at least one VGG19 layer name")
            for layer in phase.content.layers:
                if layer not in LAYER_INDEX:
                    raise ConfigError(f"{where}.content.layers", f"unknown VGG19 layer {layer!r}")
        if phase.is_gan:
            d = phase.discriminator
            _check_arch(f"{where}.discriminator.arch", d.arch, "discriminator", d.hparams, models)
            _check_fields(d.optimizer, f"{where}.discriminator.optimizer")
            if phase.adversarial.feature_matching > 0 and d.arch not in FEATURE_DISCRIMINATORS:
                raise ConfigError(f"{where}.adversarial.feature_matching",
                                  f"needs a discriminator that returns its features ({', '.join(FEATURE_DISCRIMINATORS)}), "
                                  f"not {d.arch!r}")
    return config


def _check_arch(path: str, arch: str, kind: str, hparams: dict[str, Any], models: Any) -> None:
    try:
        spec = models.get(arch)
    except KeyError:
        raise ConfigError(path, f"unknown architecture {arch!r}; known {kind}s: {', '.join(models.list(kind))}") from None
    if spec.kind != kind:
        raise ConfigError(path, f"{arch!r} is a {spec.kind}, not a {kind}")
    known = spec.defaults()
    for key, value in hparams.items():
        where = f"{path.rsplit('.', 1)[0]}.hparams.{key}"
        if key not in known:
            raise ConfigError(where, f"{arch} has no such hyperparameter; known: {', '.join(known)}")
        _check_hparam_type(where, value, known[key])


def _check_hparam_type(where: str, value: Any, default: Any) -> None:
    """A hyperparameter has its default's type (an int where an int is expected, not "8" or 8.5)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise ConfigError(where, f"expected {type(default).__name__} like the default {default!r}, got {value!r}")


# ----------------------------------------------------------------------------------------------
# TOML


def loads(text: str, *, source: str = "<string>") -> TrainingConfig:
    """Parse TOML text into a validated :class:`TrainingConfig`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{source}: not valid TOML ({exc})") from None
    return validate(from_dict(data, TrainingConfig))


def load(path: str | Path) -> TrainingConfig:
    """Read a TOML config file (errors name the file)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"{p}: cannot read the config ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{p}: not a text config file (not UTF-8 at byte {exc.start}); configs are TOML text") from None
    try:
        return loads(text, source=str(p))
    except ConfigError as exc:
        raise ConfigError(exc.field, f"{exc.reason} (in {p})") from None


def to_toml(config: TrainingConfig) -> str:
    """TOML text of ``config`` (round-trips through :func:`loads`)."""
    return dumps(to_dict(config), "# SRGAN Desktop training configuration (srgan-train --config FILE)")


def save(config: TrainingConfig, path: str | Path) -> Path:
    """Write ``config`` as TOML, atomically (temp file + rename)."""
    from trainer.atomic import atomic_write_bytes

    p = Path(path)
    atomic_write_bytes(p, to_toml(config).encode("utf-8"))
    return p


# ----------------------------------------------------------------------------------------------
# recipes and overrides


def list_recipes() -> list[str]:
    """Names of the recipes shipped in ``trainer/recipes``."""
    return sorted(p.name[:-5] for p in resources.files(RECIPE_PACKAGE).iterdir() if p.name.endswith(".toml"))


def load_recipe(name: str) -> TrainingConfig:
    """The shipped recipe ``name`` (``srresnet``, ``srgan``, ``quick``...); unknown names list the known."""
    known = list_recipes()
    if name not in known:
        raise ConfigError("recipe", f"unknown recipe {name!r}; known: {', '.join(known)}")
    text = resources.files(RECIPE_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return loads(text, source=f"recipe {name}")


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax (``3``, ``1e-4``, ``true``, ``[0.5]``, ``"x"``), else the bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(config: TrainingConfig, overrides: dict[str, Any] | list[str]) -> TrainingConfig:
    """Apply dotted-key overrides and re-validate.

    Keys: ``data.crop``, ``runtime.seed``, ``model.hparams.num_blocks`` (or the short
    ``model.num_blocks``), ``phases.0.optimizer.lr`` / ``phases.gan.optimizer.lr`` (index or phase
    name) / ``phases.*.iterations`` (all phases), ``phases.0.discriminator.channels`` (short for
    ``...discriminator.hparams.channels``). ``overrides`` is a dict or a list of ``key=value``.
    """
    if isinstance(overrides, list):
        pairs = {}
        for item in overrides:
            if "=" not in item:
                raise ConfigError(item, "an override must look like key=value")
            key, _, value = item.partition("=")
            pairs[key.strip()] = parse_value(value.strip())
        overrides = pairs
    data = to_dict(config)
    for key, value in overrides.items():
        set_path(data, key.split("."), value, key)
    return validate(from_dict(data, TrainingConfig))
