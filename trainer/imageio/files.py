"""Expanding user-given files, folders and glob patterns into image files (see ``trainer.imageio``)."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

SUPPORTED_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                                      ".heic", ".heif", ".hif", ".avif")

_GLOB_CHARS = frozenset("*?[")


def has_glob(text: str) -> bool:
    """True when ``text`` contains glob wildcards (``*``, ``?``, ``[``)."""
    return any(ch in _GLOB_CHARS for ch in text)


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES


def _walk(folder: Path, recursive: bool, exclude: frozenset = frozenset(),
          problems: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Image files under ``folder``, hidden files and hidden folders skipped, sorted by relative path.

    ``exclude``: ``(st_dev, st_ino)`` of folders never descended into (the output folder).
    ``problems``: where a folder that cannot be read is recorded as ``(folder, reason)``; without
    it such a folder is skipped, as before.
    """
    found: list[Path] = []
    if not recursive:
        try:
            with os.scandir(folder) as entries:
                found = [Path(e.path) for e in entries if _is_image_name(e.name) and _is_file(e)]
        except OSError as e:
            if problems is None:
                raise
            problems.append((folder, f"cannot read this folder ({e.strerror or e})"))
    else:
        def onerror(e: OSError) -> None:
            if problems is not None:
                where = Path(e.filename) if e.filename else folder
                problems.append((where, f"cannot read this folder ({e.strerror or e})"))

        # followlinks=False: a symlink loop cannot make the walk endless.
        for dirpath, dirnames, filenames in os.walk(folder, onerror=onerror, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and not _excluded(Path(dirpath, d), exclude)]
            found.extend(Path(dirpath, f) for f in filenames if _is_image_name(f))
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:  # e.g. a symlink loop: reported when the file is read
        return True


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _excluded(path: Path, exclude: frozenset) -> bool:
    return bool(exclude) and _identity(path) in exclude


def folder_reason(folder: Path, recursive: bool) -> str:
    """Why a folder input gave no image file: unreadable, or no image in it (one line)."""
    try:
        with os.scandir(folder) as entries:
            subfolders = any(e.is_dir() and not e.name.startswith(".") for e in entries)
    except OSError as e:
        return f"cannot read this folder ({e.strerror or e})"
    if recursive:
        return "no image files in this folder or its sub-folders"
    hint = " (its sub-folders are searched only with --recursive)" if subfolders else ""
    return f"no image files in this folder{hint}"


def _glob_root(pattern: str) -> Path:
    """The folder before the first wildcard component: the root the matches are mirrored under."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if has_glob(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def iter_image_files(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    recursive: bool = True,
    *,
    exclude: Iterable[str | os.PathLike[str]] = (),
    report: bool = False,
) -> Iterator[tuple[Path, Path]]:
    """Yield ``(file, root)`` for every image named by ``paths``, each file once, in a stable order.

    * A file is yielded as given (whatever its suffix: the user named it explicitly), with its
      parent folder as ``root``.
    * A folder yields its image files (``SUPPORTED_SUFFIXES``, case-insensitive), sorted by relative
      path, recursing into sub-folders when ``recursive``; hidden files and folders (name starting
      with ``.``, which also covers our own ``.name.tmp-*`` files) are skipped. ``root`` is the
      folder itself, so ``file.relative_to(root)`` mirrors the tree in an output folder.
    * A glob pattern (``*``, ``?``, ``[...]``, ``**`` for any depth) yields the matching image files
      (a matching folder is expanded like a folder); ``root`` is the part of the pattern before the
      first wildcard, so files from different matched folders cannot collide when mirrored.

    Missing inputs are *not* raised here, so one bad argument does not stop a batch: a path that does
    not exist, or a pattern that matches no image, is yielded as ``(path, path.parent)`` and
    :func:`trainer.imageio.read_image` then raises ``ImageReadError`` naming it ("file not found" /
    "no image file matches this pattern"), which the caller reports before going on.

    ``exclude``: folders never descended into (the output folder of an upscale inside its input
    folder, so a second run does not upscale the first run's results). ``report``: a folder (or
    sub-folder) that cannot be read, and a folder input without any image file, are yielded
    themselves, ``(folder, root)``, so the caller reports them (:func:`folder_reason` says why)
    instead of skipping them silently.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen: set[Path] = set()

    def once(file: Path, root: Path) -> Iterator[tuple[Path, Path]]:
        key = Path(os.path.abspath(file))
        if key not in seen:
            seen.add(key)
            yield file, root

    skip = frozenset(i for i in (_identity(Path(e).expanduser()) for e in exclude) if i is not None)

    def walk(folder: Path, root: Path) -> Iterator[tuple[Path, Path]]:
        problems: list[tuple[Path, str]] | None = [] if report else None
        files = _walk(folder, recursive, skip, problems)
        for file in files:
            yield from once(file, root)
        for bad, _reason in problems or ():
            yield from once(bad, root)
        if report and not files and not problems:
            yield from once(folder, root)

    for item in paths:
        text = os.fspath(item)
        path = Path(text).expanduser()
        if path.is_dir():
            yield from walk(path, path)
        elif path.is_file() or not has_glob(text):
            yield from once(path, path.parent)  # missing files are reported by read_image
        else:
            root = _glob_root(str(path))
            matches: list[tuple[Path, Path]] = []
            for match in sorted(glob.glob(str(path), recursive=True)):
                m = Path(match)
                if m.is_dir():
                    matches.extend((f, root) for f in _walk(m, recursive, skip))
                elif m.is_file() and _is_image_name(m.name):
                    matches.append((m, root))
            if not matches:
                yield path, path.parent
            for file, file_root in matches:
                yield from once(file, file_root)
