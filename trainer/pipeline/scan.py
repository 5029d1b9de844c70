"""Inputs -> :class:`Source` list: which files to upscale and which sub-folder each result goes to.

The tree rule (see :mod:`trainer.pipeline`): a file named directly goes straight into the output
folder; a file found in a *folder* input keeps that folder's name and the sub-folders below it
(``photos/2024/cat.jpg`` from input ``photos`` -> ``OUT/photos/2024/``), as a folder dropped on the
app does; a file matched by a *glob pattern* keeps the sub-folders below the pattern's fixed part
(``in/**/*.png`` -> ``in/sub/c.png`` goes to ``OUT/sub/``), since a pattern names files, not a folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from trainer.imageio.files import folder_reason, has_glob, iter_image_files


@dataclass(frozen=True)
class Source:
    """One input file and the output sub-folder (relative to the output folder) its result goes to.

    ``error``: why this entry cannot be upscaled although it was named or found (a folder that
    cannot be read, a folder input without images); the plan fails it with that reason."""

    path: Path
    subdir: Path = field(default_factory=Path)
    error: str = ""


def _abs(path: str | os.PathLike[str]) -> Path:
    # abspath, not resolve(): "." and ".." are folded but a symlinked folder keeps its own name.
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def in_folder(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> Source:
    """A file found in the folder input (or dropped folder) ``folder``: ``<folder name>/<sub-folders>``."""
    root = _abs(folder)
    try:
        rel = _abs(path).parent.relative_to(root)
    except ValueError:
        rel = Path()
    return Source(Path(path), Path(root.name) / rel)


def _below(path: Path, root: Path) -> Path:
    try:
        return _abs(path).parent.relative_to(_abs(root))
    except ValueError:
        return Path()


def scan_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = False,
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> list[Source]:
    """Files, folders and glob patterns -> sources, each file once, in a stable order.

    Folders yield their image files (``trainer.imageio.SUPPORTED_SUFFIXES``, hidden files and
    folders skipped), into sub-folders only when ``recursive``. A missing file or a pattern that
    matches nothing is kept as a source, so the run reports it ("file not found") instead of
    silently dropping it (see :func:`trainer.imageio.iter_image_files`). So is a (sub-)folder that
    cannot be read and a folder input without any image, with its :attr:`Source.error`.
    ``exclude``: folders never descended into (pass the output folder: when it lies inside an
    input folder, a second run must not upscale the first run's results).
    """
    exclude = tuple(exclude)
    seen: set[Path] = set()
    sources: list[Source] = []
    for item in inputs:
        text = os.fspath(item)
        path = Path(text).expanduser()
        is_folder = path.is_dir()
        is_pattern = not is_folder and not path.is_file() and has_glob(text)
        for file, root in iter_image_files([item], recursive=recursive, exclude=exclude, report=True):
            key = _abs(file)
            if key in seen:
                continue
            seen.add(key)
            if file.is_dir():  # reported by iter_image_files: unreadable, or no image in it
                sources.append(Source(file, Path(), folder_reason(file, recursive)))
            elif is_folder:
                sources.append(in_folder(file, path))
            elif is_pattern:
                sources.append(Source(file, _below(file, root)))
            else:
                sources.append(Source(file))
    return sources
