"""What the model and device pickers offer, and importing a model file: Qt-free worker jobs.

:func:`load_environment` is the application's warm-up: it imports torch and the model zoo in the
worker thread (after the window is shown) and returns the lists for the pickers. The model picker
starts with ``auto`` (a model per file, ``trainer.pipeline.models``) when a shipped model exists;
each entry says what the model is for (``trainer.zoo``'s table or the file's ``intended_for``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from trainer.pipeline.models import AUTO, model_label

NO_MODEL_MESSAGE = (
    "No model is shipped yet. Import a model file (.safetensors, .pth) with File > Import model file..., "
    "or train one. Evaluation still works with the bicubic baseline."
)


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    name: str  # zoo name (what settings store)
    path: Path
    source: str  # "shipped" | "user" | "file" (a model file used where it is, named by its path)
    scale: int | None = None
    description: str = ""
    error: str | None = None
    intended_for: str = ""  # "clean images", "photos: JPEG, noise", "" = not said

    @property
    def label(self) -> str:
        origin = {"shipped": "shipped", "file": "file"}.get(self.source, "yours")
        scale = f" x{self.scale}" if self.scale else ""
        broken = " (unreadable)" if self.error else ""
        title = self.path.stem if self.source == "file" else self.name
        purpose = f" · {self.intended_for}" if self.intended_for and not self.error else ""
        return f"{title}{scale} ({origin}){broken}{purpose}"

    @property
    def tooltip(self) -> str:
        if self.error:
            return self.error
        lines = [f"For {self.intended_for}"] if self.intended_for else []
        return "\n".join([*lines, *([self.description] if self.description else []), str(self.path)])


@dataclass(frozen=True)
class AutoChoice:
    """The picker's ``auto`` entry: which models it alternates, and ``notice`` when the photo model
    is missing (then ``clean == photo``)."""

    clean: str
    photo: str
    notice: str = ""

    @property
    def label(self) -> str:
        if self.clean == self.photo:
            return f"Auto: {self.clean} for every file"
        return f"Auto: {self.photo} (JPEG), {self.clean} (others)"  # short: the Options dock is narrow

    @property
    def tooltip(self) -> str:
        text = "Picks a model per file: JPEG and lossy WebP inputs (photos) get the model trained on blur, " \
               "noise and JPEG; other files (PNG, TIFF...) the model for clean images. Evaluation uses the clean one."
        return text + (f"\n{self.notice}" if self.notice else "")


@dataclass(frozen=True)
class Environment:
    """Models and devices available on this machine."""

    models: list[ModelChoice] = field(default_factory=list)
    default_model: str | None = None
    devices: list[str] = field(default_factory=lambda: ["auto", "cpu"])
    message: str = ""  # shown to the user (e.g. no model shipped)
    problems: dict[str, str] = field(default_factory=dict)  # asked-for model -> why it cannot be used
    auto: AutoChoice | None = None  # None: "auto" cannot be offered (no shipped model)

    def usable(self) -> list[ModelChoice]:
        return [m for m in self.models if m.error is None]


def _choice(entry) -> ModelChoice:  # noqa: ANN001 - trainer.zoo.ZooModel
    return ModelChoice(entry.name, Path(entry.path), entry.source, entry.scale, entry.description, entry.error,
                       entry.intended_for)


def _auto() -> AutoChoice | None:
    from trainer.pipeline import pick_models
    from trainer.zoo import ZooError

    try:
        picker = pick_models()
    except ZooError:
        return None
    return AutoChoice(model_label(picker.clean), model_label(picker.photo), picker.notice)


def load_environment(wanted: Sequence[str] = ()) -> Environment:
    """Import the core (torch included) and list models and devices. Runs in a worker thread.

    ``wanted`` are the model choices asked for (command line, remembered settings): a path to a
    model file outside the zoo's folders joins the list as a ``file`` entry named by its path, so
    it can be used where it is; a name that is neither a zoo model nor an existing file gives a line
    in :attr:`Environment.problems` (the pickers then fall back to the default / none).
    """
    from trainer import zoo
    from trainer.device import available_devices
    from trainer.pipeline import Planner  # noqa: F401 - imported here, in the worker, for the window's planner

    models = [_choice(e) for e in zoo.list_models()]
    problems: dict[str, str] = {}
    for want in dict.fromkeys(w for w in wanted if w and w != AUTO):  # auto is no file: see _auto()
        if any(m.name == want for m in models):
            continue
        try:
            entry = zoo.find_model(want)
        except zoo.ZooError as exc:
            problems[want] = str(exc)
            continue
        if entry.source == "file":
            models.append(replace(_choice(entry), name=want))
    try:
        default = zoo.default_model_name()
        message = ""
    except zoo.ZooError:
        user = [m for m in models if m.error is None]
        default = user[0].name if user else None
        message = NO_MODEL_MESSAGE if default is None else "No model is shipped yet; using your model " + default + "."
    return Environment(models, default, available_devices(), message, problems, _auto())


def import_model_file(path: str | Path) -> ModelChoice:
    """Install a model file into the user's models folder and return its picker entry.

    ``.safetensors`` written by this project are copied; ``.pth``/``.pt`` (and safetensors without
    metadata) are loaded safely (``weights_only``; SRResNet hyperparameters inferred from the
    weights) and saved as safetensors. A name already taken gets ``-1``, ``-2``... appended.
    Raises ``trainer.modelfile.ModelFileError`` naming the file and the reason.
    """
    from trainer import zoo
    from trainer.modelfile import load_model, read_metadata

    src = Path(path)
    name = _free_name(zoo, _clean_name(src.stem))
    if src.suffix == zoo.MODEL_SUFFIX and "arch" in read_metadata(src):
        load_model(src)  # check the weights fit the architecture before installing
        return _choice(zoo.install_model(src, name))
    model = load_model(src)
    return _choice(zoo.save_user_model(model, name, metadata={"imported_from": str(src)}))


def _clean_name(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem).lstrip("._-")
    return cleaned or "model"


def _free_name(zoo, base: str) -> str:  # noqa: ANN001
    taken = {m.name for m in zoo.list_models()}
    name, n = base, 0
    while name in taken or name.lower() == "auto":  # "auto" is the picker's per-file choice
        n += 1
        name = f"{base}-{n}"
    return name
