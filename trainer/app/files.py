"""Finding dropped images and making queue thumbnails: Qt-free jobs for the worker.

Scanning a dropped folder tree and decoding thumbnails touch the disk for every file, so both run in
a worker and report in batches; the GUI only appends rows.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from trainer.app.layers import thumbnail, to_display_u8

BATCH = 64


@dataclass(frozen=True)
class Found:
    """Event: image files found; ``root`` is the dropped folder each was found under (None for a
    file dropped by itself)."""

    entries: tuple[tuple[Path, Path | None], ...]


@dataclass(frozen=True)
class Thumb:
    """Event: preview of a queue item: ``pixels`` HxWx3 uint8 (None when the file cannot be decoded)."""

    item_id: int
    pixels: np.ndarray | None
    size: tuple[int, int] | None  # (w, h) as displayed (EXIF orientation applied)
    file_bytes: int | None
    error: str = ""


def scan(
    paths: Iterable[str | os.PathLike],
    cancel: threading.Event | None = None,
    exclude: Iterable[str | os.PathLike] = (),
) -> Iterator[Found]:
    """Expand dropped files and folders (recursively); returns the number of files found.

    A file dropped by itself is taken as is (an unreadable one then fails in the queue with its own
    error, which is clearer than silently ignoring it); folders contribute their image files, and a
    sub-folder that cannot be read or a dropped folder without images is listed itself, so its row
    fails with the reason (``trainer.pipeline`` plans it as failed). ``exclude``: folders never
    descended into (the output folder).
    """
    from trainer.imageio import iter_image_files

    batch: list[tuple[Path, Path | None]] = []
    count = 0
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for file, _root in iter_image_files([p], recursive=True, exclude=tuple(exclude), report=True):
                batch.append((Path(file), p))
                if len(batch) >= BATCH:
                    count += len(batch)
                    yield Found(tuple(batch))
                    batch = []
                if cancel is not None and cancel.is_set():
                    return count
        else:
            batch.append((p, None))
    if batch:
        count += len(batch)
        yield Found(tuple(batch))
    return count


def thumbnails(entries: Iterable[tuple[int, Path]], max_side: int = 96) -> Iterator[Thumb]:
    """One :class:`Thumb` per ``(item id, path)``; decoding uses Pillow's draft mode (JPEG decodes
    at 1/8 size), so a folder of large photos previews quickly."""
    from PIL import Image, ImageOps

    from trainer.imageio.heif import register

    register()  # HEIC photos (pillow-heif), as the reader does
    for item_id, path in entries:
        try:
            size_bytes = os.path.getsize(path)
        except OSError:
            size_bytes = None
        try:
            with Image.open(path) as im:
                full = im.size  # before draft(): draft mode shrinks the reported size of a JPEG
                orientation = im.getexif().get(0x0112, 1)
                if orientation in (5, 6, 7, 8):
                    full = (full[1], full[0])
                im.draft("RGB", (max_side * 2, max_side * 2))
                im = ImageOps.exif_transpose(im)
                if im.mode not in ("RGB", "RGBA", "L"):
                    im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
                im.thumbnail((max_side, max_side))
                arr = np.asarray(im)
                alpha = arr[:, :, 3] if arr.ndim == 3 and arr.shape[2] == 4 else None
                pixels = arr[:, :, :3] if alpha is not None else arr
                pixels = thumbnail(to_display_u8(pixels, alpha), max_side)
            yield Thumb(item_id, pixels, full, size_bytes)
        except Exception as exc:  # any decoder failure: the queue shows a placeholder, processing reports it
            yield Thumb(item_id, None, None, size_bytes, error=str(exc) or type(exc).__name__)


def not_an_image_reason(error: str) -> str:
    """The queue's reason for a file that is no image at all, from its :class:`Thumb`'s decoder
    error ("" for other errors: the upscale reports those itself, with the reader's words)."""
    if "cannot identify image file" in error:
        return "not an image file (no known image format)"
    if "No such file" in error:
        return "file not found"
    return ""
