"""Atomic file writes: the one routine every file the project writes goes through.

A file is written to a hidden temporary file next to its target (``.NAME.tmp-XXXXXXXX``, created
exclusively, mode 0o666 minus the umask like any new file), flushed to disk (fsync), and only
then given its final name; the folder is fsync'ed so the rename itself survives a crash. A
process killed at any moment (even SIGKILL mid-write) leaves either the previous file or the new
one, never a torn one; on any error the temporary file is removed and an existing target is
untouched. Leftover temporaries of killed processes start with ``.`` and contain ``.tmp-``
(folder scans skip dot files; :func:`remove_leftovers` deletes them).

* :func:`atomic_write`: a context manager giving a binary file object;
* :func:`atomic_path`: the same for writers that want a file *name* (``safetensors``,
  ``QImage.save``, ``shutil.copyfile``);
* :func:`atomic_write_bytes` / :func:`atomic_write_text` for data already in memory.

``overwrite=False`` publishes the name with a hard link, which fails if the name exists, so two
writers of the same name cannot silently replace each other between a check and the rename
(:class:`FileExistsError`). Standard library only: the desktop app may use it before torch loads.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TEMP_MARK = ".tmp-"


class TempFileError(OSError):
    """The temporary file next to the target could not be created (``strerror`` says why)."""


def temp_name(target: Path) -> Path:
    """A fresh hidden temporary name next to ``target``."""
    return target.with_name(f".{target.name}{TEMP_MARK}{secrets.token_hex(4)}")


def _create_temp(target: Path) -> tuple[Path, int]:
    for _ in range(100):
        tmp = temp_name(target)
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as e:
            raise TempFileError(e.errno, e.strerror, str(target.parent)) from None
    raise TempFileError(errno.EEXIST, "cannot create a temporary file", str(target.parent))


def fsync_fd(fd: int) -> None:
    """Flush to disk; file systems without fsync (some network/FUSE ones) are not a failed write."""
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise


def fsync_dir(folder: Path) -> None:
    """Persist a rename in ``folder`` (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: Path, target: Path, *, overwrite: bool = True) -> None:
    """Give the finished ``tmp`` its final name (``tmp`` may remain: the caller removes it).

    Raises:
        FileExistsError: ``overwrite`` is False and ``target`` exists.
    """
    if overwrite:
        os.replace(tmp, target)
        return
    # A hard link creates the name only if it does not exist, atomically.
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file already exists", str(target)) from None
    except OSError:  # no hard links on this file system (FAT, some network shares)
        if target.exists():
            raise FileExistsError(errno.EEXIST, "file already exists", str(target)) from None
        os.replace(tmp, target)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True, mkdir: bool = True) -> Iterator[Path]:
    """Yield the name of an (empty) temporary file to write; on a clean exit it becomes ``path``.

    The temporary file is fsync'ed after the writer is done (by name), then published (see
    :func:`publish`). ``mkdir`` creates the target's folder. Raises :class:`TempFileError` when the
    temporary file cannot be created and :class:`FileExistsError` as :func:`publish`.
    """
    target = Path(path)
    if mkdir:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _create_temp(target)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            fsync_fd(fd)  # the data is on disk before the name points at it
        finally:
            os.close(fd)
        publish(tmp, target, overwrite=overwrite)
        fsync_dir(target.parent)
    finally:  # also on KeyboardInterrupt: never leave a temp file behind
        _unlink_quietly(tmp)


@contextmanager
def atomic_write(path: str | os.PathLike, *, overwrite: bool = True, mkdir: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file object; on a clean exit its content becomes ``path`` (see :func:`atomic_path`)."""
    target = Path(path)
    if mkdir:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _create_temp(target)
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:  # by name: tests hook this module's open() to cut a write short
            yield fh
            fh.flush()
            fsync_fd(fh.fileno())
        publish(tmp, target, overwrite=overwrite)
        fsync_dir(target.parent)
    finally:
        _unlink_quietly(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    target = Path(path)
    with atomic_write(target, overwrite=overwrite) as fh:
        fh.write(data)
    return target


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8", overwrite: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)


def remove_leftovers(folder: str | os.PathLike) -> None:
    """Delete the temporary files that killed writers left in ``folder``."""
    for leftover in Path(folder).glob(f".*{TEMP_MARK}*"):
        _unlink_quietly(leftover)
