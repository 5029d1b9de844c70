"""What the model and device pickers offer, and importing a model file: Qt-free worker jobs.

:func:`load_environment` is the application's warm-up: it imports torch and the model zoo in the
worker thread (after the window is shown) and returns the lists for the pickers. The model picker
starts with ``auto`` (a model per file, ``trainer.pipeline.models``) when a shipped model exists;
each entry says what the model is for (``trainer.zoo``'s table or the file's ``intended_for``).

Model files are used where they are (:func:`open_model_file`, "Import model file…" and a drop):
the app remembers their paths, nothing is copied. A community model (ESRGAN, SwinIR..., opened with
spandrel) has no header to read, so it is loaded once to list it, with its architecture, scale and
size; :func:`import_model_file` installs a copy into the user's models folder on request.
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
    arch: str = ""  # community models: spandrel's architecture ("ESRGAN", "SwinIR"...)
    params: int | None = None  # community models: number of parameters

    @property
    def label(self) -> str:
        origin = {"shipped": "shipped", "file": "file"}.get(self.source, "yours")
        scale = f" x{self.scale}" if self.scale else ""
        broken = " (unreadable)" if self.error else ""
        title = self.path.stem if self.source == "file" else self.name
        purpose = f" · {self.intended_for}" if self.intended_for and not self.error else ""
        if self.arch and self.params is not None and not self.error:
            from trainer.foreign import format_params  # torch is loaded wherever community models are

            purpose += f" · {self.arch}, {format_params(self.params)}"
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
        text = "Picks a model per file: JPEG, lossy WebP, HEIC and AVIF inputs (photos), and PNG or TIFF files whose pixels " \
               "show JPEG's 8x8 blocks (saved from a JPEG, a screenshot of a photo), get the model trained on blur, " \
               "noise and JPEG; other files the model for clean images. Evaluation uses the clean one."
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


def load_environment(wanted: Sequence[str] = (), files: Sequence[str] = ()) -> Environment:
    """Import the core (torch included) and list models and devices. Runs in a worker thread.

    ``wanted`` are the model choices asked for (command line, remembered settings): a path to a
    model file outside the zoo's folders joins the list as a ``file`` entry named by its path, so
    it can be used where it is; a name that is neither a zoo model nor an existing file gives a line
    in :attr:`Environment.problems` (the pickers then fall back to the default / none). ``files``
    are the model files the user imported earlier (remembered by path): listed the same way, a
    missing or broken one with its reason (shown, not selectable).
    """
    from trainer import zoo
    from trainer.device import available_devices
    from trainer.modelfile import ModelFileError
    from trainer.pipeline import Planner  # noqa: F401 - imported here, in the worker, for the window's planner

    # The user's models without this project's header are community models: loaded once to list them.
    models = [_file_choice(e, e.name) if e.source == "user" else _choice(e) for e in zoo.list_models()]
    problems: dict[str, str] = {}
    asked = set(w for w in wanted if w)
    for want in dict.fromkeys(w for w in (*wanted, *files) if w and w != AUTO):  # auto is no file: see _auto()
        if any(m.name == want for m in models):
            continue
        try:
            entry = zoo.find_model(want)
        except (zoo.ZooError, ModelFileError) as exc:
            if want in asked:
                problems[want] = str(exc)
            else:  # an imported file that went away: listed, greyed out, with the reason
                models.append(ModelChoice(want, Path(want), "file", error=str(exc)))
            continue
        if entry.source == "file":
            choice = _file_choice(entry, want)
            if choice.error and want in asked:
                problems[want] = choice.error
            models.append(choice)
    try:
        default = zoo.default_model_name()
        message = ""
    except zoo.ZooError:
        user = [m for m in models if m.error is None]
        default = user[0].name if user else None
        message = NO_MODEL_MESSAGE if default is None else "No model is shipped yet; using your model " + default + "."
    return Environment(models, default, available_devices(), message, problems, _auto())


# Community model files already loaded once in this process: (path, size, mtime) -> entry.
_FILE_INFO: dict[tuple[str, int, int], ModelChoice] = {}


def _file_choice(entry, name: str) -> ModelChoice:  # noqa: ANN001 - trainer.zoo.ZooModel
    """The picker entry of a model file (``name``: the zoo name, or the path as remembered).

    A file with this project's header is described by the header; any other is loaded (safely,
    ``trainer.modelfile.load_model``) to learn its architecture, scale and size, once per file
    version; a file that cannot be used gets ``error`` (one line, naming the file)."""
    from trainer.modelfile import ModelFileError, load_model

    if entry.error is not None or "arch" in entry.metadata:
        return replace(_choice(entry), name=name)
    try:
        st = entry.path.stat()
        key = (str(entry.path), st.st_size, st.st_mtime_ns)
    except OSError as exc:
        return ModelChoice(name, Path(entry.path), entry.source, error=f"{entry.path}: {exc.strerror or exc}")
    if key not in _FILE_INFO:
        try:
            model = load_model(entry.path)
        except ModelFileError as exc:
            return ModelChoice(name, Path(entry.path), entry.source, error=str(exc))
        meta = model.metadata
        _FILE_INFO[key] = ModelChoice(name, Path(entry.path), "file", model.scale, str(meta.get("description", "")),
                                      arch=model.arch, params=meta.get("parameters"))
        del model
    return replace(_FILE_INFO[key], name=name, source=entry.source)


def open_model_file(path: str | Path) -> ModelChoice:
    """Check a model file and return its picker entry, to be used where it is (nothing copied).

    Raises ``trainer.modelfile.ModelFileError`` (or ``trainer.zoo.ZooError`` for a missing file)
    naming the file and the reason: not a model, code refused, not a super-resolution model...
    """
    from trainer import zoo
    from trainer.modelfile import ModelFileError, load_model

    src = Path(path).expanduser().absolute()
    entry = zoo.find_model(src)
    choice = _file_choice(entry, str(src))
    if choice.error:
        raise ModelFileError(src, choice.error.removeprefix(f"{src}: "))
    if "arch" in entry.metadata:
        load_model(src)  # a project file: the weights must fit the architecture its header names
    return choice


def import_model_file(path: str | Path) -> ModelChoice:
    """Install a model file into the user's models folder and return its picker entry.

    ``.safetensors`` written by this project are copied; ``.pth``/``.pt`` (and safetensors without
    metadata) are loaded safely (``weights_only``; SRResNet hyperparameters inferred from the
    weights) and saved as safetensors; a community model's weights are saved as they are (in the
    layout spandrel reads), without this project's header. A name already taken gets ``-1``,
    ``-2``... appended. Raises ``trainer.modelfile.ModelFileError`` naming the file and the reason.
    """
    from trainer import zoo
    from trainer.foreign import ForeignNetwork
    from trainer.modelfile import load_model, read_metadata

    src = Path(path)
    name = _free_name(zoo, _clean_name(src.stem))
    if src.suffix == zoo.MODEL_SUFFIX and "arch" in read_metadata(src):
        load_model(src)  # check the weights fit the architecture before installing
        return _choice(zoo.install_model(src, name))
    model = load_model(src)
    if isinstance(model.module, ForeignNetwork):
        return _file_choice(_install_weights(zoo, model.module.net, name), name)
    return _choice(zoo.save_user_model(model, name, metadata={"imported_from": str(src)}))


def _install_weights(zoo, net, name: str):  # noqa: ANN001
    """A community network's weights as a plain safetensors file in the user's models folder."""
    from safetensors.torch import save_file

    from trainer.atomic import atomic_path

    dest = zoo.user_models_dir() / f"{zoo.check_name(name)}{zoo.MODEL_SUFFIX}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    with atomic_path(dest) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
    return zoo.find_model(name)  # the user's model of that name (listed as "yours")


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
