"""Which model upscales which file: a model the user picked, or ``auto`` (per file).

``auto`` picks :data:`~trainer.zoo_info.PHOTO_MODEL` (``photo_x4``, trained on blur, noise and
JPEG) for inputs decoded from a lossy format (JPEG, lossy WebP) or stored losslessly with JPEG
traces (a PNG saved from a JPEG, a screenshot of a photo: :mod:`trainer.jpegtrace`), and the clean model
(:data:`~trainer.zoo_info.DEFAULT_MODEL`, ``srgan_x4``; the zoo's default model when that is not
installed) for everything else. When the photo model is not installed, ``auto`` uses the clean
model for every file and :attr:`ModelPicker.notice` says so (once per run: the caller prints it).
Evaluation (the LR is made with clean bicubic) always uses the clean model under ``auto``.
A model the user picks is used for every file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainer.zoo_info import DEFAULT_MODEL, PHOTO_MODEL

if TYPE_CHECKING:  # not imported at run time: the app's pickers import this module at start-up
    from trainer.pipeline.formats import Sniffed

AUTO = "auto"
_MODEL_FILE_SUFFIXES = (".safetensors", ".pth", ".pt")


def model_label(model: str) -> str:
    """The short name of a model argument (``{model}`` in names, logs, events): a zoo name as is,
    a model file's stem."""
    text = os.fspath(model)
    path = Path(text)
    if os.sep in text or (os.altsep and os.altsep in text) or path.suffix.lower() in _MODEL_FILE_SUFFIXES:
        return path.stem
    return text


@dataclass(frozen=True)
class ModelPicker:
    """The model for each file of a run (model arguments: zoo names or model file paths).

    ``requested`` is what the user asked for (``auto`` or a model); ``clean`` and ``photo`` the
    models for clean and for lossy inputs (the same model unless ``auto`` found both).
    """

    requested: str
    clean: str
    photo: str
    notice: str = ""

    @property
    def is_auto(self) -> bool:
        return self.requested == AUTO

    def for_file(self, sniffed: Sniffed, path: str | os.PathLike[str] | None = None) -> str:
        """The model for an input with this header: under ``auto``, the photo model for lossy data
        and, when ``path`` is given, for lossless files whose pixels carry JPEG traces (this decodes
        the file once, about 55 ms per megapixel on a 2-core CPU; the answer is cached per file)."""
        return self.photo if self.is_photo(sniffed, path) else self.clean

    def is_photo(self, sniffed: Sniffed, path: str | os.PathLike[str] | None = None) -> bool:
        """Whether ``auto`` treats this input as a photo (see :meth:`for_file`); False when the
        picker has only one model."""
        if self.photo == self.clean:
            return False
        if sniffed.lossy:
            return True
        if sniffed.lossy is False and path is not None:
            from trainer.jpegtrace import has_jpeg_traces

            return has_jpeg_traces(path)
        return False

    def for_evaluation(self) -> str:
        """The model for evaluation mode (its LR is clean bicubic: the clean model under ``auto``)."""
        return self.clean


def _installed(name: str) -> bool:
    from trainer import zoo

    try:
        entry = zoo.find_model(name)
    except zoo.ZooError:
        return False
    return entry.error is None


def pick_models(requested: str | None = AUTO) -> ModelPicker:
    """A :class:`ModelPicker` for ``requested`` (None or ``"auto"``: per file; anything else: that model).

    Cheap (file headers only; nothing is loaded). Raises ``trainer.zoo.ZooError`` under ``auto``
    when no clean model can be found (nothing shipped).
    """
    if requested not in (None, "", AUTO):
        return ModelPicker(str(requested), str(requested), str(requested))
    from trainer import zoo

    clean = DEFAULT_MODEL if _installed(DEFAULT_MODEL) else zoo.default_model_name()
    if clean == PHOTO_MODEL:  # the photo model is the only one: nothing to choose between
        return ModelPicker(AUTO, clean, clean)
    if _installed(PHOTO_MODEL):
        return ModelPicker(AUTO, clean, PHOTO_MODEL)
    notice = (f"auto: {PHOTO_MODEL} (for photos: JPEG, lossy WebP, HEIC, AVIF, and images with JPEG traces) "
              f"is not installed; using {clean} for every file")
    return ModelPicker(AUTO, clean, clean, notice)
