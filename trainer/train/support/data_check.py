"""Checking a training folder before a run and previewing training pairs (no Qt).

The hold-out split itself is the trainer's (``data.holdout``, :mod:`trainer.train.holdout`).

:func:`scan_training_folder` is a worker job: it decodes every image exactly as the trainer will
(``trainer.imageio.read_image``), so what it calls unreadable is what the run would skip, and yields
progress, thumbnails and finally a :class:`DataReport`. Images smaller than the crop depend on the
crop chosen later in the wizard, so the report keeps every size and answers for any crop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

THUMBNAILS = 12
THUMB_SIZE = 96
SAMPLE_SIDE = 256  # centre region kept from the first images, for the training-pair preview
SAMPLES = 3


@dataclass(frozen=True)
class ScanProgress:
    """``done`` of ``total`` files checked."""

    done: int
    total: int


@dataclass(frozen=True)
class Thumbnail:
    """A small RGB uint8 version of one training image."""

    path: Path
    pixels: np.ndarray


@dataclass
class DataReport:
    """What a training folder holds: readable images with their sizes, unreadable files and why."""

    folder: Path
    sizes: dict[Path, tuple[int, int]] = field(default_factory=dict)  # path -> (width, height)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)  # RGB uint8 centre regions
    cancelled: bool = False

    def too_small(self, crop: int) -> list[Path]:
        """Images the run would skip because they are smaller than the ``crop`` x ``crop`` HR crop."""
        return [p for p, (w, h) in self.sizes.items() if w < crop or h < crop]

    def usable(self, crop: int) -> int:
        """How many images a run with this crop trains on."""
        return len(self.sizes) - len(self.too_small(crop))

    def summary(self, crop: int) -> str:
        """One paragraph in plain words."""
        n = len(self.sizes)
        if not n and not self.unreadable:
            return f"No images found in {self.folder} (looked in sub-folders too, for PNG, JPEG, WebP, TIFF and BMP)."
        parts = [f"{n} readable image{'s' if n != 1 else ''}"]
        if n:
            ws = [w for w, _ in self.sizes.values()]
            hs = [h for _, h in self.sizes.values()]
            megapixels = sum(w * h for w, h in self.sizes.values()) / 1e6
            parts.append(f"sizes {min(ws)}×{min(hs)} to {max(ws)}×{max(hs)} ({megapixels:.1f} megapixels in all)")
        small = len(self.too_small(crop))
        if small:
            parts.append(f"{small} smaller than the {crop}×{crop} crop (skipped)")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable (skipped)")
        text = ", ".join(parts) + "."
        if self.usable(crop) == 0 and n:
            text += f" None is large enough for the {crop}×{crop} crop: choose a smaller crop on the Recipe page."
        elif 0 < self.usable(crop) < 8:
            text += " Very few images: fine for a test, too few for a useful model."
        return text


def thumbnail(rgb: np.ndarray, side: int = THUMB_SIZE) -> np.ndarray:
    """A thumbnail no larger than ``side`` (Pillow's antialiased reduction)."""
    from PIL import Image

    im = Image.fromarray(rgb)
    im.thumbnail((side, side))
    return np.asarray(im)


def centre_region(rgb: np.ndarray, side: int = SAMPLE_SIDE) -> np.ndarray:
    """The central ``side`` x ``side`` region (or the whole image when smaller)."""
    h, w = rgb.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(rgb[y:y + side, x:x + side])


def scan_training_folder(folder: str | os.PathLike, *, thumbnails: int = THUMBNAILS,
                         cancel: threading.Event | None = None) -> Iterator[ScanProgress | Thumbnail | DataReport]:
    """Check every image under ``folder`` (recursively); the last event is the :class:`DataReport`."""
    from trainer.imageio import ImageReadError, iter_image_files, read_image
    from trainer.imageio.display import to_rgb_u8

    root = Path(folder).expanduser()
    report = DataReport(root)
    if not root.is_dir():
        report.unreadable.append((root, "folder not found"))
        yield report
        return
    files = [f for f, _ in iter_image_files([root], recursive=True)]
    yield ScanProgress(0, len(files))
    shown = 0
    for i, path in enumerate(files, 1):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        try:
            rgb = to_rgb_u8(read_image(path).pixels)
        except ImageReadError as exc:
            report.unreadable.append((path, exc.reason))
        else:
            report.sizes[path] = (rgb.shape[1], rgb.shape[0])
            if len(report.samples) < SAMPLES:
                report.samples.append(centre_region(rgb))
            if shown < thumbnails:
                shown += 1
                yield Thumbnail(path, thumbnail(rgb))
        if i % 8 == 0 or i == len(files):
            yield ScanProgress(i, len(files))
    yield report


@dataclass(frozen=True)
class PreviewPair:
    """What one training sample looks like: the HR crop and the LR input the model will see."""

    hr: np.ndarray
    lr: np.ndarray


def preview_pairs(samples: list[np.ndarray], crop: int, scale: int, degradation: str = "bicubic") -> list[PreviewPair]:
    """Centre ``crop`` x ``crop`` HR crops of ``samples`` and their LR as training makes it:
    MATLAB bicubic (the protocol's degradation) or, for ``realistic``, one draw of the random
    blur / resize / noise / JPEG pipeline per crop (a fixed seed, so the preview does not flicker)."""
    from trainer.imresize import imresize

    pairs = []
    for i, rgb in enumerate(samples):
        h, w = rgb.shape[:2]
        side = min(crop, h - h % scale, w - w % scale)
        if side < scale * 2:
            continue
        y, x = (h - side) // 2, (w - side) // 2
        hr = np.ascontiguousarray(rgb[y:y + side, x:x + side])
        lr = _realistic_lr(hr, scale, i) if degradation == "realistic" else imresize(hr, 1.0 / scale)
        pairs.append(PreviewPair(hr, lr))
    return pairs


def _realistic_lr(hr: np.ndarray, scale: int, index: int) -> np.ndarray:
    import torch

    from trainer.config import RealisticConfig
    from trainer.train.realistic import degrade_batch, to_uint8

    batch = torch.from_numpy(hr.copy()).permute(2, 0, 1)[None].float().div(255.0)
    return to_uint8(degrade_batch(batch, scale, RealisticConfig(clean_prob=0.0), (0, index, 0))[0])
