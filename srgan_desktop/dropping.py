"""Files from drops and the clipboard: local paths out of ``QMimeData``, pasted images saved to disk;
a dropped model file is imported (it joins the model pickers) instead of being queued."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import QMimeData, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage

from trainer.atomic import atomic_path

MODEL_SUFFIXES = (".safetensors", ".pth", ".pt")  # trainer.modelfile's (not imported: it loads torch)


def local_paths(mime: QMimeData | None) -> list[Path]:
    """Local files and folders named by a drop or paste (remote URLs are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def is_model_file(path: Path) -> bool:
    """A model file (``.safetensors``, ``.pth``, ``.pt``), not an image for the queue."""
    return path.suffix.lower() in MODEL_SUFFIXES and not path.is_dir()


def can_accept(mime: QMimeData | None) -> bool:
    """True when a drag carries something the queue can take (local files/folders or an image)."""
    return bool(local_paths(mime)) or (mime is not None and mime.hasImage())


def save_pasted_image(image: QImage, folder: Path) -> Path:
    """Write a pasted image as ``clipboard-YYYYMMDD-HHMMSS.png`` in ``folder`` (atomically), so it
    can be queued like any file; the output is then written to the output folder as usual."""
    if image.isNull():
        raise ValueError("the clipboard image is empty")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"clipboard-{stamp}.png"
    n = 0
    while target.exists():
        n += 1
        target = folder / f"clipboard-{stamp}-{n}.png"
    with atomic_path(target) as tmp:  # trainer.atomic: a half-written file never has the real name
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"{target}: could not write the pasted image")
    return target


class DropTarget:
    """Mixin for the main window: files, folders and images dropped on it or pasted join the queue
    (through the window's ``add_paths``; a pasted image is saved first, see :func:`save_pasted_image`);
    model files go to the window's ``import_model``."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if can_accept(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        paths = local_paths(mime)
        if not paths and mime.hasImage():
            paths = [self._save_image_from_mime(mime.imageData())]
        models = [p for p in paths if is_model_file(p)]
        for path in models:  # a dropped model file joins the model pickers (the window's import)
            self.import_model(str(path))
        paths = [p for p in paths if p not in models]
        if paths:
            self.add_paths(paths)
        if paths or models:
            event.acceptProposedAction()

    def _save_image_from_mime(self, image) -> Path:
        from trainer.paths import user_data_dir  # stdlib-only module: no torch

        return save_pasted_image(image, user_data_dir() / "pasted")

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        paths = local_paths(mime)
        if not paths and mime is not None and mime.hasImage():
            paths = [self._save_image_from_mime(QGuiApplication.clipboard().image())]
        if paths:
            self.add_paths(paths)
        else:
            self.message.emit("The clipboard holds no image and no image files")
