"""The training configuration being edited in the wizard (a plain object, no Qt).

A :class:`ConfigDraft` is a shipped recipe plus the user's choices, kept as dotted overrides
(``data.crop``, ``phases.0.optimizer.lr``...) and turned into a validated ``TrainingConfig`` by
``trainer.config.apply_overrides`` on demand. Keeping overrides (not a config) lets the user switch
recipes without losing the data, model and hardware choices, while the recipe's own fields reset.
:meth:`problems` says, per wizard page, what is wrong and how to fix it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.train.layout import CHECKPOINT_DIR, CONFIG_FILE

DEFAULT_RECIPE = "quick"  # minutes on a laptop CPU: a first run ends with a model
RECIPE_LABELS = {
    "quick": "Quick test (a few minutes, tiny model)",
    "srresnet": "Paper SRResNet (MSE loss)",
    "srgan": "Paper SRGAN (MSE pretraining, then VGG + adversarial)",
    "srgan-mixed": "Mixed loss in one phase (MSE + VGG + adversarial)",
    "srgan-dfm": "SRGAN without VGG weights (L1 + discriminator features + relativistic GAN)",
    "wdrn-wgan": "WDRN + WGAN-GP (pretraining, then VGG + critic)",
    "photo": "Photo model (JPEG, noise, blur: realistic degradations, L1)",
    "srcnn": "SRCNN baseline",
    "vdsr": "VDSR baseline",
}
# Overrides that belong to the recipe (reset when another recipe is chosen).
RECIPE_KEYS = ("phases.", "data.crop", "data.batch_size", "runtime.ema_decay", "runtime.val_interval",
               "runtime.checkpoint_interval")
PAGES = ("data", "model", "recipe", "hardware", "summary")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
VAL_MODES = ("benchmark", "folder", "holdout", "none")


@dataclass(frozen=True)
class Problem:
    """Something wrong with the draft: the wizard ``page`` where it is fixed, the config ``field``
    (dotted, may be empty), a plain-words ``message`` and an optional ``fix`` (an action name the
    page offers as a button, e.g. ``use_pixel_loss``)."""

    page: str
    field: str
    message: str
    fix: str = ""


def page_of(field_name: str) -> str:
    """The wizard page where a config field is edited."""
    if field_name.startswith("model"):
        return "model"
    if field_name.startswith(("phases", "data.crop", "data.batch_size", "runtime.ema_decay", "runtime.val_interval",
                              "runtime.checkpoint_interval")):
        return "recipe"
    if field_name.startswith("data"):
        return "data"
    if field_name.startswith("runtime"):
        return "hardware"
    return "summary"


FIELD_NAMES = {
    "iterations": "steps", "time_limit_s": "time limit", "optimizer.lr": "learning rate",
    "pixel.weight": "pixel loss weight", "pixel.type": "pixel loss", "content.weight": "content loss weight",
    "adversarial.weight": "adversarial weight", "adversarial.type": "adversarial loss",
    "discriminator.optimizer.lr": "discriminator learning rate", "data.crop": "Crop", "data.batch_size": "Batch",
    "data.scale": "Scale", "runtime.ema_decay": "Weight averaging (EMA)", "runtime.val_interval": "Validate every",
    "runtime.checkpoint_interval": "Checkpoint every",
}


def friendly_field(field_name: str) -> str:
    """``Phase 1 learning rate (phases[0].optimizer.lr)`` for a config field name."""
    m = re.match(r"^phases\[(\d+)\]\.(.+)$", field_name)
    if m:
        name = FIELD_NAMES.get(m.group(2))
        return f"Phase {int(m.group(1)) + 1} {name} ({field_name})" if name else field_name
    name = FIELD_NAMES.get(field_name)
    return f"{name} ({field_name})" if name else field_name


def default_runs_root() -> Path:
    """``user_data_dir()/runs`` (``SRGAN_USER_DIR`` moves it)."""
    from trainer.paths import user_data_dir

    return user_data_dir() / "runs"


def benchmark_val_dir() -> Path | None:
    """The shipped benchmark Set5 folder when it is on this machine."""
    from trainer.paths import benchmarks_dir

    folder = benchmarks_dir() / "Set5"
    return folder if folder.is_dir() else None


class ConfigDraft:
    """A recipe, the user's overrides and the run's name/folder/validation split."""

    def __init__(self, recipe: str = DEFAULT_RECIPE) -> None:
        from trainer.config import load_recipe

        self.recipe = recipe
        self.base = load_recipe(recipe)
        self.overrides: dict[str, Any] = {}
        self.val_mode = "benchmark" if benchmark_val_dir() is not None else "none"
        self.val_folder = ""
        self.holdout = 5
        self.runs_root = default_runs_root()
        self.run_name = self.suggest_name()
        self.known_usable_images: int | None = None  # from the data check, for the hold-out rule
        self.version = 0

    @classmethod
    def from_config(cls, config: Any, *, run_name: str | None = None) -> ConfigDraft:
        """A draft holding a complete config (e.g. loaded from a TOML file)."""
        from trainer.config import list_recipes

        draft = cls(config.recipe if config.recipe in list_recipes() else DEFAULT_RECIPE)
        draft.base, draft.overrides = config, {}
        draft.recipe = config.recipe
        val = config.data.val_dir
        bench = benchmark_val_dir()
        draft.val_mode = "none" if not val else "benchmark" if (val == "auto" or (bench and Path(val) == bench)) else "folder"
        draft.val_folder = val if draft.val_mode == "folder" else ""
        if config.data.holdout:
            draft.val_mode, draft.holdout = "holdout", config.data.holdout
        draft.run_name = run_name or draft.suggest_name()
        return draft

    # -- editing -------------------------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        """Set one dotted field (checked when the config is built)."""
        self.overrides[key] = value
        self.version += 1

    def unset(self, key: str) -> None:
        """Go back to the recipe's value of ``key``."""
        self.overrides.pop(key, None)
        self.version += 1

    def set_recipe(self, name: str, *, keep_model: bool = True) -> None:
        """Switch to recipe ``name``; its training fields replace the edited ones. The model, data
        and hardware choices stay (``keep_model=False`` takes the recipe's model too)."""
        from trainer.config import load_recipe

        self.base = load_recipe(name)
        self.recipe = name
        self.overrides = {k: v for k, v in self.overrides.items()
                          if not k.startswith(RECIPE_KEYS) and (keep_model or not k.startswith("model."))}
        if self._auto_name:
            self.run_name = self.suggest_name()
        self.version += 1

    def set_model(self, arch: str, hparams: dict[str, Any], init_weights: str = "") -> None:
        """Choose the generator (``hparams`` without ``scale``) and optional weights to start from."""
        self.overrides["model.arch"] = arch
        self.overrides["model.hparams"] = {k: v for k, v in hparams.items() if k != "scale"}
        self.overrides["model.init_weights"] = init_weights
        self.version += 1

    def recipe_model(self) -> tuple[str, dict[str, Any]]:
        """The architecture and hyperparameters the recipe was written for."""
        return self.base.model.arch, dict(self.base.model.hparams)

    @property
    def _auto_name(self) -> bool:
        return bool(re.match(r"^[a-z0-9-]+-\d{8}-\d{6}$", self.run_name or ""))

    def suggest_name(self) -> str:
        """``<recipe>-YYYYmmdd-HHMMSS``, made unique in the runs folder."""
        base = f"{self.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
        name, n = base, 1
        while (self.runs_root / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name

    @property
    def run_dir(self) -> Path:
        """Where the run will write."""
        return self.runs_root / self.run_name

    @property
    def train_dir(self) -> str:
        """The HR folder the user chose."""
        return str(self.overrides.get("data.train_dir", self.base.data.train_dir))

    # -- building --------------------------------------------------------------------------------
    def _data_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data.holdout": 0}
        if self.val_mode == "benchmark":
            bench = benchmark_val_dir()
            out["data.val_dir"] = str(bench) if bench else ""
        elif self.val_mode == "folder":
            out["data.val_dir"] = self.val_folder
        elif self.val_mode == "holdout":
            # The trainer keeps these images out of training and validates on them (data.holdout,
            # trainer.train.holdout): the same fixed choice whenever the run starts or resumes.
            out["data.val_dir"] = ""
            out["data.holdout"] = self.holdout
        else:
            out["data.val_dir"] = ""
        return out

    def build(self) -> Any:
        """The validated ``TrainingConfig`` the run will use (raises ``trainer.config.ConfigError``
        naming the field)."""
        from trainer.config import apply_overrides

        overrides = dict(self.overrides)
        overrides.update(self._data_overrides())
        return apply_overrides(self.base, overrides)

    def to_toml(self) -> str:
        """The config as TOML (raises ConfigError when invalid)."""
        from trainer.config import to_toml

        return to_toml(self.build())

    # -- checking --------------------------------------------------------------------------------
    def problems(self, page: str | None = None) -> list[Problem]:
        """What stops the run from starting, for one wizard page (or all pages)."""
        from trainer.config import ConfigError

        found: list[Problem] = []
        found += self._data_problems()
        try:
            config = self.build()
        except ConfigError as exc:
            found.append(Problem(page_of(exc.field), exc.field, f"{friendly_field(exc.field)}: {exc.reason}"))
            config = None
        if config is not None:
            found += self._model_problems(config)
            found += vgg_problems(config)
        found += self._summary_problems()
        return [p for p in found if page is None or p.page == page]

    def _data_problems(self) -> list[Problem]:
        out = []
        train = self.train_dir
        if not train:
            out.append(Problem("data", "data.train_dir", "Choose the folder of high-resolution training images."))
        elif not Path(train).expanduser().is_dir():
            out.append(Problem("data", "data.train_dir", f"{train}: folder not found."))
        if self.val_mode == "folder":
            if not self.val_folder:
                out.append(Problem("data", "data.val_dir", "Choose the validation folder, or another validation option."))
            elif not Path(self.val_folder).expanduser().is_dir():
                out.append(Problem("data", "data.val_dir", f"{self.val_folder}: validation folder not found."))
        elif self.val_mode == "benchmark" and benchmark_val_dir() is None:
            out.append(Problem("data", "data.val_dir", "The Set5 benchmark is not on this machine; choose another validation option."))
        elif self.val_mode == "holdout":
            usable = self.known_usable_images
            if self.holdout < 1:
                out.append(Problem("data", "data.val_dir", "Hold out at least one image, or choose no validation."))
            elif usable and self.holdout >= usable:
                out.append(Problem("data", "data.val_dir", f"Holding out {self.holdout} of {usable} usable images leaves none "
                                   "to train on; hold out fewer."))
        return out

    def _model_problems(self, config: Any) -> list[Problem]:
        message = check_model(config.model.arch, config.data.scale, config.model.hparams)
        out = [Problem("model", "model.hparams", message)] if message else []
        init = config.model.init_weights
        if init and not Path(init).expanduser().is_file():
            out.append(Problem("model", "model.init_weights", f"{init}: model file not found."))
        return out

    def _summary_problems(self) -> list[Problem]:
        name = self.run_name.strip()
        if not name:
            return [Problem("summary", "run_name", "Give the run a name.")]
        if not _NAME_RE.match(name):
            return [Problem("summary", "run_name", f"{name!r}: use letters, digits, '.', '_' and '-' only "
                            "(the name becomes a folder and a model name).")]
        if (self.run_dir / CHECKPOINT_DIR).is_dir() or (self.run_dir / CONFIG_FILE).is_file():
            return [Problem("summary", "run_name", f"{self.run_dir} already holds a run; choose another name "
                            "(or resume that run from the Training runs list).")]
        return []


_MODEL_CHECKS: dict[tuple, str] = {}


def check_model(arch: str, scale: int, hparams: dict[str, Any]) -> str:
    """``""`` when the registry can build ``arch`` at ``scale`` with ``hparams``, else why not.

    Building a generator is cheap (no weights are loaded); results are cached.
    """
    key = (arch, scale, tuple(sorted((k, repr(v)) for k, v in hparams.items())))
    if key not in _MODEL_CHECKS:
        from trainer import models

        try:
            models.build(arch, scale=scale, **hparams)
            _MODEL_CHECKS[key] = ""
        except Exception as exc:  # noqa: BLE001 - any refusal is shown to the user as text
            _MODEL_CHECKS[key] = f"{arch} cannot be built at x{scale} with these settings: {exc}"
    return _MODEL_CHECKS[key]


def vgg_problems(config: Any) -> list[Problem]:
    """The ImageNet VGG19 weights that a content loss or a VGG discriminator needs, when missing."""
    needs = []
    for i, phase in enumerate(config.phases):
        if phase.content.type == "vgg" and phase.content.vgg_weights == "imagenet":
            needs.append((f"phases.{i}.content", f"the VGG content loss of phase {phase.name!r}"))
        elif phase.content.type == "vgg" and phase.content.vgg_weights not in ("random", "imagenet"):
            if not Path(phase.content.vgg_weights).expanduser().is_file():
                return [Problem("recipe", f"phases.{i}.content.vgg_weights",
                                f"{phase.content.vgg_weights}: VGG19 weights file not found.", "use_pixel_loss")]
        if phase.is_gan and phase.discriminator.arch == "vgg_feature_d":
            needs.append((f"phases.{i}.discriminator", f"the VGG-feature discriminator of phase {phase.name!r}"))
    if not needs:
        return []
    from trainer.vgg import VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL, vgg19_weights_path

    path = vgg19_weights_path()
    if path.is_file():
        return []
    users = "; ".join(u for _, u in needs)
    return [Problem("recipe", needs[0][0],
                    f"{users} needs the ImageNet VGG19 weights file {VGG19_WEIGHTS_FILE}, which is not on this computer. "
                    f"Download it from {VGG19_WEIGHTS_URL} and put it in the folder {path.parent} "
                    f"(full path: {path}). Or train with the pixel loss instead (L1 pixel + adversarial).",
                    "use_pixel_loss")]


def use_pixel_loss(draft: ConfigDraft) -> None:
    """Replace every VGG content loss by an L1 pixel loss (the offline alternative)."""
    config = draft.build()
    for i, phase in enumerate(config.phases):
        if phase.content.type == "vgg":
            draft.set(f"phases.{i}.content.type", "none")
            draft.set(f"phases.{i}.pixel.type", "l1")
            draft.set(f"phases.{i}.pixel.weight", 1.0)
        if phase.is_gan and phase.discriminator.arch == "vgg_feature_d":
            draft.set(f"phases.{i}.discriminator.arch", "srgan_d")
            draft.set(f"phases.{i}.discriminator.hparams", {"channels": 64, "norm": "batch"})
