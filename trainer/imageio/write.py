"""Writing :class:`ImageData`: :func:`save_image` (atomic, with the overwrite rules) and
:func:`encode` (into a file object, per format; the decisions are listed in :func:`save_image`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from trainer.atomic import TempFileError, atomic_write
from trainer.choices import OUTPUT_FORMATS
from trainer.imageio import bit16 as _b16
from trainer.imageio.display import to_uint8
from trainer.imageio.metadata import exif_for_save, icc_for_channels
from trainer.imageio.types import ImageData, ImageWriteError

__all__ = ["OUTPUT_FORMATS", "encode", "save_image", "to_uint8"]

_SAVE_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "tif": "tiff", "tiff": "tiff", "bmp": "bmp"}

# Largest width/height each format stores (Pillow would fail late with "broken data stream").
_MAX_SIDE = {"jpeg": 65535, "webp": 16383}

# zlib level for PNG: measured on 2-4 MP photos, level 4 writes 2-3x faster than Pillow's default 6
# for files 1-6 % larger; batch upscaling writes many large outputs.
PNG_COMPRESS_LEVEL = 4


def _composite_on_white(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight colour over a white background, in float at the source precision, -> uint8."""
    top = np.float32(np.iinfo(pixels.dtype).max)
    a = (alpha.astype(np.float32) / top)[:, :, None]
    out = pixels.astype(np.float32) / top * a + (1.0 - a)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def _pillow_image(colour: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    """HxWx1|3 uint8 colour (+ HxW alpha) -> Pillow image in L, LA, RGB or RGBA."""
    # Pillow picks the mode from the array: uint8 HxW -> L, HxWx2 -> LA, x3 -> RGB, x4 -> RGBA.
    arr = colour if alpha is None else np.dstack([colour, alpha])
    if arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(arr))


def encode(image: ImageData, fh: BinaryIO, fmt: str, *, quality: int, dpi_scale: float) -> None:
    """Write ``image`` to ``fh`` as ``fmt`` ("png", "jpeg", "webp", "tiff", "bmp")."""
    pixels, alpha = image.pixels, image.alpha
    exif = exif_for_save(image.exif)
    dpi = (image.dpi[0] * dpi_scale, image.dpi[1] * dpi_scale) if image.dpi else None

    if fmt in ("png", "tiff") and pixels.dtype == np.uint16:
        icc = icc_for_channels(image.icc_profile, pixels.shape[2])
        if alpha is None and pixels.shape[2] == 1:
            # Pillow writes 16-bit grey itself, with all metadata.
            im = Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))  # uint16 HxW -> "I;16"
            _pillow_save(im, fh, fmt, icc=icc, exif=exif, dpi=dpi, quality=quality)
            return
        arr = pixels if alpha is None else np.dstack([pixels, alpha])
        if fmt == "png":
            _b16.write_png16(fh, arr, icc_profile=icc, exif=exif, dpi=dpi, compress_level=PNG_COMPRESS_LEVEL)
        else:
            _b16.write_tiff16(fh, arr, icc_profile=icc, dpi=dpi)
        return

    colour = to_uint8(pixels)
    a8 = None if alpha is None else to_uint8(alpha)
    if fmt in ("jpeg", "bmp"):
        # No alpha in JPEG; BMP's 32-bit "alpha" byte is ignored by most readers (Pillow included).
        if alpha is not None:
            colour = _composite_on_white(pixels, alpha)
            a8 = None
    elif fmt == "webp":
        if colour.shape[2] == 1:  # WebP stores RGB(A) only
            colour = np.repeat(colour, 3, axis=2)
    icc = icc_for_channels(image.icc_profile, colour.shape[2])
    _pillow_save(_pillow_image(colour, a8), fh, fmt, icc=icc, exif=exif, dpi=dpi, quality=quality)


def _pillow_save(
    im: Image.Image,
    fh: BinaryIO,
    fmt: str,
    *,
    icc: bytes | None,
    exif: bytes | None,
    dpi: tuple[float, float] | None,
    quality: int,
) -> None:
    kwargs: dict = {}
    if icc and fmt != "bmp":
        kwargs["icc_profile"] = icc
    if exif and fmt != "bmp":
        kwargs["exif"] = exif
    if dpi and fmt != "webp":  # WebP has no resolution field
        kwargs["dpi"] = dpi
    if fmt == "png":
        kwargs["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt == "jpeg":
        kwargs["quality"] = quality
        # 4:4:4 chroma at high quality: super-resolved detail is what the user is paying for.
        kwargs["subsampling"] = 0 if quality >= 90 else 2
    elif fmt == "webp":
        kwargs["quality"] = quality
        kwargs["lossless"] = quality >= 100
    # TIFF is written uncompressed: Pillow compresses through libtiff, which refuses the EXIF
    # sub-IFD ("Bad LONG8 or IFD8 value ... EXIFIFDOffset"), and uncompressed is the most portable.
    im.save(fh, format=fmt.upper(), **kwargs)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop (Python < 3.13)
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
    limit = _MAX_SIDE.get(fmt)
    if limit is not None and max(image.width, image.height) > limit:
        raise ImageWriteError(target, f"{image.width} x {image.height} px is too large for {fmt.upper()}, which stores "
                              f"at most {limit} px a side; save as PNG or TIFF")
    if target.is_dir():
        raise ImageWriteError(target, "is a folder")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise ImageWriteError(target, "file already exists (overwrite not allowed)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ImageWriteError(target, f"cannot create folder {target.parent} ({e.strerror or e})") from None
    try:  # trainer.atomic: temp file next to the target, fsync, rename (or link: no overwrite)
        with atomic_write(target, overwrite=overwrite, mkdir=False) as fh:
            encode(image, fh, fmt, quality=int(quality), dpi_scale=float(dpi_scale))
    except ImageWriteError:
        raise
    except FileExistsError:
        raise ImageWriteError(target, "file already exists (overwrite not allowed)") from None
    except TempFileError as e:
        raise ImageWriteError(target, f"cannot create a file in {target.parent} ({e.strerror or e})") from None
    except Exception as e:
        raise ImageWriteError(target, f"could not write {fmt.upper()} ({type(e).__name__}: {e})") from e
    return target
