"""The model zoo: shipped models, the user's own models, and the default model.

Shipped models are ``resources/models/<name>.safetensors`` with a model card ``<name>.md`` next to
each (``SRGAN_RESOURCES`` moves ``resources/``). The user's models (exported from training or
installed from a file) live in ``user_data_dir()/models`` (``SRGAN_USER_DIR`` moves it). Both folders
are read at call time, so tests and the app see changes without a restart.

A model's name is its file stem. Lookup by name tries the shipped models first, then the user's;
:func:`find_model` also takes a path to any model file (``.safetensors``, ``.pth``, ``.pt``).
Listing reads only the file headers (cheap); a file whose header is unreadable is still listed, with
``error`` set, so the GUI can show why instead of silently hiding it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from trainer.atomic import atomic_path, atomic_write_text
from trainer.loaded_model import LoadedModel
from trainer.modelfile import PICKLE_SUFFIXES, ModelFileError, check_readable, load_model, read_metadata, save_model
from trainer.paths import models_dir, user_data_dir
# Re-exported: the table of what each shipped model is for lives in a torch-free module.
from trainer.zoo_info import DEFAULT_MODEL, PHOTO_MODEL, SHIPPED_INTENDED_FOR, intended_for, shipped_models_help  # noqa: F401

Source = Literal["shipped", "user", "file"]
MODEL_SUFFIX = ".safetensors"
CARD_SUFFIX = ".md"
# DEFAULT_MODEL (trainer.zoo_info): the shipped model the app opens with when it is present;
# otherwise see default_model_name(). "auto" is a choice of the upscale pipeline, never a file name.
_RESERVED_NAMES = ("auto",)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ZooError(LookupError):
    """A model name that is not in the zoo, or no shipped model at all."""


@dataclass(frozen=True, eq=False)
class ZooModel:
    """One model file of the zoo.

    Attributes:
        name: file stem, the name used on the command line and in the GUI.
        path: the model file.
        source: ``"shipped"`` (resources), ``"user"`` (user data folder) or ``"file"`` (a path given directly).
        metadata: the file's metadata (header only; ``{}`` when unreadable or a ``.pth``).
        error: why the header could not be read, else None.
    """

    name: str
    path: Path
    source: Source
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def arch(self) -> str | None:
        return self.metadata.get("arch")

    @property
    def scale(self) -> int | None:
        return self.metadata.get("scale")

    @property
    def description(self) -> str:
        return str(self.metadata.get("description", ""))

    @property
    def intended_for(self) -> str:
        """What the model is for ("clean images", "photos: JPEG, noise"): the file's metadata key
        ``intended_for``, else the shipped-model table (:data:`SHIPPED_INTENDED_FOR`), else ``""``."""
        return intended_for(self.name, self.metadata, shipped=self.source == "shipped")

    @property
    def card_path(self) -> Path:
        """``<name>.md`` next to the model file (it may not exist)."""
        return self.path.with_suffix(CARD_SUFFIX)

    def card(self) -> str:
        """The model card's Markdown text, ``""`` when there is none."""
        try:
            return self.card_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def load(self, *, device: str | torch.device = "cpu") -> LoadedModel:
        """Build the network from the file (see ``trainer.modelfile.load_model``)."""
        return load_model(self.path, device=device)


def shipped_models_dir() -> Path:
    """``resources/models`` (honours ``SRGAN_RESOURCES``)."""
    return models_dir()


def user_models_dir() -> Path:
    """``user_data_dir()/models`` (honours ``SRGAN_USER_DIR``); not created by reading."""
    return user_data_dir() / "models"


def _entry(path: Path, source: Source) -> ZooModel:
    try:
        return ZooModel(path.stem, path, source, read_metadata(path))
    except ModelFileError as exc:
        return ZooModel(path.stem, path, source, {}, exc.reason)


def _scan(folder: Path, source: Source) -> list[ZooModel]:
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if p.suffix == MODEL_SUFFIX and p.is_file() and not p.name.startswith("."))
    return [_entry(p, source) for p in files]


def list_models(source: Literal["shipped", "user"] | None = None) -> list[ZooModel]:
    """Models in the zoo: shipped ones first, then the user's, each sorted by name."""
    out: list[ZooModel] = []
    if source in (None, "shipped"):
        out += _scan(shipped_models_dir(), "shipped")
    if source in (None, "user"):
        out += _scan(user_models_dir(), "user")
    return out


def find_model(name_or_path: str | os.PathLike) -> ZooModel:
    """A zoo model by name (shipped first, then user), or any model file by path.

    Raises:
        ZooError: unknown name (the message lists the known ones) or a path that does not exist.
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    looks_like_path = (
        isinstance(name_or_path, os.PathLike)
        or any(sep in text for sep in separators)
        or path.suffix in (MODEL_SUFFIX, *PICKLE_SUFFIXES)
    )
    if looks_like_path:
        try:
            os.stat(path)
        except FileNotFoundError:
            raise ZooError(f"model file {path} not found") from None
        except (OSError, ValueError):
            pass  # check_readable says why (permission, symlink loop...)
        check_readable(path)  # ModelFileError naming the file: a folder, no permission...
        return _entry(path, "file")
    for folder, source in ((shipped_models_dir(), "shipped"), (user_models_dir(), "user")):
        candidate = folder / f"{text}{MODEL_SUFFIX}"
        if candidate.is_file():
            return _entry(candidate, source)
    known = ", ".join(dict.fromkeys(m.name for m in list_models())) or "none"
    raise ZooError(f"no model named {text!r}; known models: {known} (or give a path to a model file)")


def default_model_name() -> str:
    """The shipped model the app and ``srgan-upscale`` use when none is chosen.

    :data:`DEFAULT_MODEL` when it is shipped; otherwise the first readable shipped 4x generator by
    name, then the first readable shipped generator (discriminators are never the default).

    Raises:
        ZooError: no shipped model in ``resources/models`` (the message names the folder).
    """
    shipped = [m for m in list_models("shipped") if m.error is None and m.metadata.get("kind") == "generator"]
    if not shipped:
        raise ZooError(
            f"no shipped model found: {shipped_models_dir()} has no readable generator {MODEL_SUFFIX} file. "
            "Train one (srgan-train) or pass a model file explicitly."
        )
    for model in shipped:
        if model.name == DEFAULT_MODEL:
            return model.name
    x4 = [m for m in shipped if m.scale == 4]
    return (x4 or shipped)[0].name


def load(name_or_path: str | os.PathLike | None = None, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a zoo model by name or path (None: the default model), eval mode, on ``device``.

    Raises:
        ZooError: unknown name / no shipped model. ModelFileError: the file cannot be used.
    """
    return find_model(default_model_name() if name_or_path is None else name_or_path).load(device=device)


def check_name(name: str) -> str:
    """A user model name must be a plain file stem (letters, digits, ``.``, ``_``, ``-``); ``auto`` is
    reserved (it means "pick per file" to the upscale pipeline)."""
    if name.lower() in _RESERVED_NAMES:
        raise ValueError(f"invalid model name {name!r}: reserved (it picks a model per file)")
    if not _NAME_RE.match(name) or name.endswith(MODEL_SUFFIX):
        raise ValueError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-' (no folders, no suffix)")
    return name


def save_user_model(
    model: LoadedModel,
    name: str,
    *,
    metadata: dict[str, Any] | None = None,
    card: str | None = None,
    dtype: torch.dtype | None = None,
    overwrite: bool = False,
) -> ZooModel:
    """Write ``model`` into the user's models folder as ``<name>.safetensors`` (+ ``<name>.md`` card).

    Raises:
        ValueError: bad name. FileExistsError: the name is taken and ``overwrite`` is False.
    """
    path = user_models_dir() / f"{check_name(name)}{MODEL_SUFFIX}"
    if path.exists() and not overwrite:
        raise FileExistsError(f"a user model named {name!r} already exists at {path}")
    save_model(model, path, metadata=metadata, dtype=dtype)
    if card is not None:
        atomic_write_text(path.with_suffix(CARD_SUFFIX), card)
    return _entry(path, "user")


def install_model(source_path: str | os.PathLike, name: str | None = None, *, overwrite: bool = False) -> ZooModel:
    """Copy a ``.safetensors`` model file (and its ``.md`` card, if any) into the user's models folder.

    The file is checked first (its header must name an architecture), so a broken file is refused
    with a :class:`ModelFileError` instead of being installed. ``.pth`` files are not installed
    directly: load them with ``arch=`` and :func:`save_user_model` the result.
    """
    src = Path(source_path)
    if src.suffix != MODEL_SUFFIX:
        raise ModelFileError(src, f"only {MODEL_SUFFIX} files can be installed; load a .pth with arch= and save it")
    meta = read_metadata(src)
    if "arch" not in meta:
        raise ModelFileError(src, "the file does not record its architecture (not written by SRGAN Desktop)")
    dest = user_models_dir() / f"{check_name(name or src.stem)}{MODEL_SUFFIX}"
    if dest.exists() and not overwrite:
        raise FileExistsError(f"a user model named {dest.stem!r} already exists at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Card first, model last and by rename: a half-copied file never shows up in the zoo.
    if src.with_suffix(CARD_SUFFIX).is_file():
        with atomic_path(dest.with_suffix(CARD_SUFFIX)) as tmp:
            shutil.copyfile(src.with_suffix(CARD_SUFFIX), tmp)
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return _entry(dest, "user")
