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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TEMP_MARK = ".tmp-"


class TempFileError(OSError):
    """The temporary file next to the target could not be created (``strerror`` says why)."""


NAME_MAX = 255  # bytes in one file name on every common file system


def temp_name(target: Path) -> Path:
    """A fresh hidden temporary name next to ``target``: ``.NAME.tmp-XXXXXXXX``.

    The mark and the random part add 14 bytes; a long ``NAME`` is cut (at a character boundary)
    so the temporary name stays within :data:`NAME_MAX` whenever the target's own name does.
    """
    suffix = f"{TEMP_MARK}{secrets.token_hex(4)}"
    name = target.name
    room = NAME_MAX - 1 - len(suffix)
    encoded = os.fsencode(name)
    if len(encoded) > room:
        try:  # a UTF-8 name is cut at a character boundary; any other bytes are kept as they are
            name = encoded.decode("utf-8")[:room]
            while len(name.encode("utf-8")) > room:
                name = name[:-1]
        except UnicodeDecodeError:
            name = os.fsdecode(encoded[:room])
    return target.with_name(f".{name}{suffix}")


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


def is_temp_name(name: str) -> bool:
    """True for a name :func:`temp_name` makes (``.`` + name + ``.tmp-`` + 8 hex digits)."""
    head, mark, tail = name.rpartition(TEMP_MARK)
    return (bool(mark) and name.startswith(".") and len(head) > 1 and len(tail) == 8
            and all(c in "0123456789abcdef" for c in tail))


def target_of(temp: str) -> str | None:
    """The target name a :func:`temp_name` was made for (cut when the target's name was long)."""
    return temp[1:].rpartition(TEMP_MARK)[0] if is_temp_name(temp) else None


def remove_leftovers(
    folder: str | os.PathLike,
    *,
    names: Iterable[str] | None = None,
    older_than: float | None = None,
) -> int:
    """Delete the temporary files that killed writers left in ``folder``; returns how many.

    Only names of :func:`temp_name`'s pattern are touched. ``names``: only the temporaries of these
    targets (a live writer of such a name would be a conflicting one anyway). ``older_than``: only
    files not modified for that many seconds (a writer that is still running keeps its file fresh).
    Given both, a file matching either is removed.
    """
    import time

    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    wanted = None if names is None else {target_of(temp_name(Path(n)).name) for n in names}
    removed = 0
    now = time.time()
    for entry in entries:
        target = target_of(entry.name)
        if target is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            named = wanted is not None and target in wanted
            stale = older_than is not None and now - entry.stat(follow_symlinks=False).st_mtime >= older_than
            if not (named or stale or (wanted is None and older_than is None)):
                continue
        except OSError:
            continue
        _unlink_quietly(Path(entry.path))
        removed += 1
    return removed
