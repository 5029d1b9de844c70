"""Reading and writing images for the core (Pillow based, Qt-free, no torch import).

Contract: :class:`ImageData` holds *straight* (not premultiplied) colour as ``pixels`` (HxWx3 RGB or
HxWx1 grey, ``uint8`` or ``uint16``) and an optional ``alpha`` (HxW, same dtype). The bit depth is
the dtype, decided by the file's format and sample size, never by pixel values: a dark 16-bit
image whose maximum is below 256 stays 16-bit.

Reading (:func:`read_image`): PNG, JPEG, WebP, TIFF, BMP (the first page or frame of multi-page
TIFFs and animated WebP/PNG).

* EXIF orientation is applied to the pixels (and to the DPI); the EXIF kept in ``ImageData.exif``
  says orientation 1, so a saved output is not rotated twice. Tags describing the source file's own
  pixel storage (a TIFF's strips, sizes, resolution...) are not carried over.
* Modes: ``1`` -> grey 8-bit; ``P`` -> RGB, or RGBA with ``palette_transparency=True`` when the
  palette has transparency; ``L``/``RGB`` with a tRNS colour key -> alpha; ``CMYK``/``YCbCr`` -> RGB
  (Pillow's plain conversion: no colour management; a CMYK ICC profile is *dropped*, because attached
  to RGB data it would make every colour-managed viewer misread the pixels; any profile whose colour
  space does not match the data is dropped for the same reason); ``I;16*``/``I`` -> 16-bit grey
  (``I`` outside 0..65535 is refused); ``F`` (float) is refused. 16-bit RGB(A) and grey+alpha PNG
  and TIFF are read losslessly (see :mod:`trainer.imageio_16bit`); their ``mode`` is reported as
  ``"RGB;16"``, ``"RGBA;16"``, ``"LA;16"`` because Pillow has no such modes.
* ``MAX_PIXELS`` (200 MP) guards against decompression bombs with a message naming the file and
  its size. It replaces Pillow's own check, which this module switches off (``Image.MAX_IMAGE_PIXELS
  = None``) because it warns at 89 MP, fails at 179 MP and names no file.
* Every failure is an :class:`ImageReadError` ("PATH: reason"): missing file, folder, empty file,
  not an image, unsupported format, truncated or corrupt data (pixels are decoded eagerly and
  Pillow's ``LOAD_TRUNCATED_IMAGES`` is left False, so truncation is an error, not grey pixels).

Writing (:func:`save_image`): see its docstring for the per-format choices.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from trainer import imageio_read as _read
from trainer.imageio_files import SUPPORTED_SUFFIXES, has_glob, iter_image_files
from trainer.imageio_types import ImageData, ImageReadError, ImageWriteError, premultiply, unpremultiply
from trainer.imageio_write import encode

__all__ = [
    "MAX_PIXELS",
    "OUTPUT_FORMATS",
    "SUPPORTED_SUFFIXES",
    "ImageData",
    "ImageReadError",
    "ImageWriteError",
    "iter_image_files",
    "premultiply",
    "read_image",
    "save_image",
    "unpremultiply",
]

MAX_PIXELS = 200_000_000
"""Largest image :func:`read_image` decodes (width x height). 200 MP of 16-bit RGBA is 1.6 GB."""

OUTPUT_FORMATS = ("png", "jpg", "webp", "tiff")
"""Formats offered for outputs. :func:`save_image` also accepts ``jpeg``, ``tif`` and ``bmp``."""

_SAVE_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "tif": "tiff", "tiff": "tiff", "bmp": "bmp"}

# See the module docstring: MAX_PIXELS is enforced by read_image with a clearer message.
Image.MAX_IMAGE_PIXELS = None


def read_image(path: str | os.PathLike[str]) -> ImageData:
    """Read an image file into :class:`ImageData` (EXIF orientation applied, modes normalised).

    Raises :class:`ImageReadError` for every file that cannot be read, with the reason.
    """
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        reason = "no image file matches this pattern" if has_glob(os.fspath(path)) else "file not found"
        raise ImageReadError(p, reason) from None
    except OSError as e:
        raise ImageReadError(p, f"cannot access file ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(p, "is a folder, not an image file")
    if st.st_size == 0:
        raise ImageReadError(p, "empty file (0 bytes)")
    try:
        return _read.decode(p, MAX_PIXELS)  # the limit read at call time (tests lower it)
    except ImageReadError:
        raise
    except _read.Refused as e:
        raise ImageReadError(p, str(e)) from None
    except UnidentifiedImageError:
        pass  # decided below, outside the except block to keep the traceback short
    except PermissionError as e:
        raise ImageReadError(p, f"permission denied ({e.strerror or e})") from None
    except MemoryError:
        raise ImageReadError(p, "not enough memory to decode this image") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error, IndexError, KeyError, TypeError) as e:
        raise ImageReadError(p, f"truncated or corrupt image data ({type(e).__name__}: {e})") from e
    return _read.decode_unidentified(p, MAX_PIXELS)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
    except OSError:
        pass
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def save_image(
    image: ImageData,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - name fixed by the contract
    quality: int = 95,
    dpi_scale: float = 1.0,
    overwrite: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``image`` to ``path`` atomically and return the path written.

    ``format`` (png, jpg/jpeg, webp, tiff/tif, bmp; default from the suffix). Per format:

    * PNG: lossless; grey stays grey, alpha kept (LA/RGBA); 16-bit kept (grey, grey+alpha, RGB, RGBA).
    * TIFF: uncompressed (Pillow's compressed path cannot write the EXIF sub-IFD); like PNG otherwise,
      but 16-bit colour TIFF is written with tifffile, which cannot write EXIF (ICC and DPI kept).
    * JPEG: ``quality`` (4:4:4 chroma at quality >= 90, Pillow's 4:2:0 below); 16-bit rounded to 8;
      alpha is *composited on white* (dropping it would show whatever colour hides under transparent
      pixels, often black).
    * WebP: ``quality`` (100 means lossless); 8-bit; grey written as RGB (WebP has no grey); alpha kept.
    * BMP: 8-bit; alpha composited on white like JPEG (most readers ignore BMP alpha); no ICC/EXIF.

    ICC profile and EXIF (orientation forced to 1) are kept where the format can hold them; the DPI
    is multiplied by ``dpi_scale`` (pass the upscale factor so the print size stays the same).
    The file is written to ``.NAME.tmp-XXXX`` in the target folder (created if needed) and renamed
    over the target only when complete; on any failure the temp file is removed and an existing
    target is untouched. Raises :class:`ImageWriteError` when the target is ``image.source`` or any
    path in ``protect`` (same resolved path or same file), when it exists and ``overwrite`` is False,
    for bad arguments and for encoder or disk errors.
    """
    target = Path(path).expanduser()
    name = (format or target.suffix).lower().lstrip(".")
    fmt = _SAVE_FORMATS.get(name)
    if fmt is None:
        what = f"format {format!r}" if format else f"suffix {target.suffix!r}" if target.suffix else "no suffix"
        raise ImageWriteError(target, f"cannot write {what}; use one of png, jpg, webp, tiff, bmp")
    if not 1 <= int(quality) <= 100:
        raise ImageWriteError(target, f"quality must be between 1 and 100, got {quality}")
    if not dpi_scale > 0:
        raise ImageWriteError(target, f"dpi_scale must be positive, got {dpi_scale}")
    if image.source is not None and _same_file(target, Path(image.source)):
        raise ImageWriteError(target, "refusing to overwrite the source image")
    for other in protect:
        if _same_file(target, Path(other).expanduser()):
            raise ImageWriteError(target, f"refusing to overwrite a protected file ({other})")
    if target.is_dir():
        raise ImageWriteError(target, "is a folder")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise ImageWriteError(target, "file already exists (overwrite not allowed)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ImageWriteError(target, f"cannot create folder {target.parent} ({e.strerror or e})") from None
    tmp, fd = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            encode(image, fh, fmt, quality=int(quality), dpi_scale=float(dpi_scale))
            fh.flush()
            _fsync(fh.fileno())
        _publish(tmp, target, overwrite)
    except ImageWriteError:
        raise
    except Exception as e:
        raise ImageWriteError(target, f"could not write {fmt.upper()} ({type(e).__name__}: {e})") from e
    finally:  # also on KeyboardInterrupt: never leave a temp file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return target


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Give the finished temp file its final name (the temp name is removed by the caller)."""
    if overwrite:
        os.replace(tmp, target)
        return
    # A hard link creates the name only if it does not exist, atomically: two jobs writing the
    # same output name cannot silently overwrite each other between the exists() check and here.
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise ImageWriteError(target, "file already exists (overwrite not allowed)") from None
    except OSError:  # no hard links on this file system (FAT, some network shares)
        if target.exists():
            raise ImageWriteError(target, "file already exists (overwrite not allowed)") from None
        os.replace(tmp, target)


def _fsync(fd: int) -> None:
    """Flush to disk before the rename, so the target never names a file whose data is not there."""
    try:
        os.fsync(fd)
    except OSError as e:
        # Some network/FUSE file systems do not implement fsync; that is not a failed write.
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def _create_temp(target: Path) -> tuple[Path, int]:
    """Create ``.NAME.tmp-XXXX`` next to ``target``; mode 0o666 minus the umask, like a normal file."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as e:
            raise ImageWriteError(target, f"cannot create a file in {target.parent} ({e.strerror or e})") from None
    raise ImageWriteError(target, "cannot create a temporary file")
