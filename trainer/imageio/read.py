"""Reading an image file into :class:`ImageData`: :func:`read_image` (see the package docstring).

:func:`read_image` checks the path, calls :func:`decode` and turns every failure into an
``ImageReadError``; the decisions are listed in the :mod:`trainer.imageio` docstring.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainer.imageio import bit16 as _b16
from trainer.imageio import heif as _heif
from trainer.imageio.files import has_glob
from trainer.imageio.metadata import (
    apply_orientation,
    clean_dpi,
    clean_exif,
    icc_for_channels,
    orientation_of,
)
from trainer.imageio.types import ImageData, ImageReadError, unpremultiply

# The JPEG opener also returns MPO (camera JPEGs); HEIF comes from pillow-heif (trainer.imageio.heif).
READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF")
FORMAT_NAMES = "PNG, JPEG, WebP, TIFF, BMP, GIF, HEIC/HEIF, AVIF"
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # the headers read with tifffile

MAX_PIXELS = 200_000_000
"""Largest image :func:`read_image` decodes (width x height). 200 MP of 16-bit RGBA is 1.6 GB.
Read at call time from this module (tests lower it)."""

# See the package docstring: MAX_PIXELS is enforced by read_image with a clearer message.
Image.MAX_IMAGE_PIXELS = None


class Refused(Exception):
    """Internal: a readable file whose content this module declines (reason in args[0])."""


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    n = width * height
    if n > max_pixels:
        raise ImageReadError(path, f"image too large ({width} x {height} = {n / 1e6:.1f} MP, limit {max_pixels / 1e6:g} MP)")


def _readable_formats() -> list[str]:
    """:data:`READ_FORMATS` that this Pillow can open (HEIF only with pillow-heif, AVIF only when
    Pillow has libavif): Pillow fails on a format name it has no opener for."""
    _heif.register()  # phones' HEIC photos: pillow-heif's opener, registered on first use
    Image.init()  # loads Pillow's plugins once; later calls return at once
    return [f for f in READ_FORMATS if f in Image.OPEN]


def decode(path: Path, max_pixels: int) -> ImageData:
    """Decode ``path`` (an existing, non-empty file). Raises ImageReadError for images over
    ``max_pixels``, :class:`Refused` for content this module declines, and Pillow/decoder errors
    (``UnidentifiedImageError`` when Pillow does not recognise one of ``READ_FORMATS``) as they are.
    """
    with Image.open(path, formats=_readable_formats()) as im:
        _check_size(path, *im.size, max_pixels)
        fmt = "JPEG" if im.format == "MPO" else str(im.format)
        src_mode = im.mode
        png_layout = _b16.png16_layout(im)
        tiff16 = _b16.is_tiff16_colour(im)
        tiff_layout = _b16.tiff16_layout(im) if tiff16 else None
        associated = _b16.tiff_associated_alpha(im) if tiff16 else False
        # Decode now: truncated or corrupt data must fail here, not later in the caller.
        im.load()
        info = dict(im.info)
        if fmt == "TIFF" and 282 not in getattr(im, "tag_v2", {}):
            info.pop("dpi", None)  # Pillow reports (1, 1) when a TIFF has no resolution at all
        exif = _exif_of(im)
        palette_transparency = False
        if png_layout:
            arr = _b16.read_hi_lo(path, "PNG", png_layout)
        elif tiff_layout:
            arr = _b16.read_hi_lo(path, "TIFF", tiff_layout)
        elif tiff16:
            arr, tinfo = _read_tifffile(path, max_pixels)
            associated = tinfo["associated_alpha"]
        else:
            arr, palette_transparency = _pillow_pixels(im)
    if png_layout or tiff16:
        src_mode = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}.get(arr.shape[2], "I;16")
    pixels, alpha = _split_alpha(arr, info.get("transparency"), associated, src_mode == "1")
    orientation = orientation_of(exif)
    dpi = clean_dpi(info.get("dpi"))
    if orientation != 1:
        pixels = apply_orientation(pixels, orientation)
        alpha = None if alpha is None else apply_orientation(alpha, orientation)
        if dpi and orientation >= 5:  # quarter turns swap the axes
            dpi = (dpi[1], dpi[0])
    return ImageData(
        pixels=pixels,
        alpha=alpha,
        mode=src_mode,
        format=fmt,
        icc_profile=icc_for_channels(info.get("icc_profile"), pixels.shape[2]),
        exif=clean_exif(exif) if len(exif) else None,
        dpi=dpi,
        source=path,
        palette_transparency=palette_transparency,
    )


def _exif_of(im: Image.Image) -> Image.Exif:
    """The image's EXIF; an unparsable EXIF block is dropped rather than failing the whole image."""
    try:
        return im.getexif()
    except Exception:  # noqa: BLE001 - metadata damage must not make the pixels unreadable
        return Image.Exif()


def _read_tifffile(path: Path, max_pixels: int) -> tuple[np.ndarray, dict]:
    try:
        return _b16.read_tiff_tifffile(path, lambda w, h: _check_size(path, w, h, max_pixels))
    except ImportError:
        raise Refused("this 16-bit TIFF layout needs the tifffile package (a scikit-image dependency)") from None
    except ValueError as e:
        raise Refused(f"unsupported TIFF ({e})") from None


def _pillow_pixels(im: Image.Image) -> tuple[np.ndarray, bool]:
    """Pixels of a decoded Pillow image as HxWxC uint8/uint16 (C = 1..4), plus palette transparency."""
    mode = im.mode
    if mode == "P" or mode == "PA":
        palette_transparency = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if palette_transparency else "RGB")), palette_transparency
    if mode in ("1", "CMYK", "YCbCr", "RGBX", "RGBa", "La"):
        im = im.convert({"1": "L", "RGBa": "RGBA", "La": "LA"}.get(mode, "RGB"))
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16)[:, :, None], False  # astype: native byte order
    elif mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise Refused("32-bit integer pixels outside 0..65535 are not supported (convert to 16-bit first)")
        return arr.astype(np.uint16)[:, :, None], False
    elif mode == "F":
        raise Refused("32-bit floating-point images are not supported (convert to 8- or 16-bit first)")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        raise Refused(f"unsupported colour mode {mode}")
    arr = np.asarray(im)
    return (arr[:, :, None] if arr.ndim == 2 else arr), False


def _split_alpha(
    arr: np.ndarray, key: object, associated: bool, bilevel: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """HxWxC (1..4 channels) -> (colour HxWx1|3, alpha HxW | None); tRNS colour key -> alpha."""
    channels = arr.shape[2]
    if channels in (2, 4):
        colour, alpha = arr[:, :, :-1], arr[:, :, -1]
        if associated:  # premultiplied TIFF: the contract is straight colour
            top = float(np.iinfo(arr.dtype).max)
            straight = unpremultiply(colour / np.float32(top), alpha / np.float32(top))
            colour = np.rint(straight * top).astype(arr.dtype)
        return np.ascontiguousarray(colour), np.ascontiguousarray(alpha)
    if key is None or isinstance(key, bytes):
        return arr, None
    try:
        k = np.asarray(key, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        return arr, None
    if k.size != channels:
        return arr, None
    if bilevel:
        k = k * 255  # a 1-bit key is 0/1, the pixels became 0/255
    opaque = np.any(arr != k.astype(arr.dtype), axis=2)
    alpha = np.where(opaque, np.iinfo(arr.dtype).max, 0).astype(arr.dtype)
    return arr, alpha


def decode_unidentified(path: Path, max_pixels: int) -> ImageData:
    """A file Pillow would not open as one of the read formats: name its format, or try tifffile."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head in TIFF_MAGIC:  # e.g. 16-bit grey+alpha TIFF, which Pillow cannot identify
        try:
            arr, tinfo = _read_tifffile(path, max_pixels)
        except (ImageReadError, MemoryError):
            raise
        except Refused as e:
            raise ImageReadError(path, str(e)) from None
        except Exception as e:  # noqa: BLE001 - any decoder failure is "corrupt" for the user
            raise ImageReadError(path, f"truncated or corrupt TIFF ({type(e).__name__}: {e})") from None
        pixels, alpha = _split_alpha(arr, None, tinfo["associated_alpha"], False)
        o = tinfo["orientation"] if 1 <= tinfo["orientation"] <= 8 else 1
        pixels = apply_orientation(pixels, o)
        alpha = None if alpha is None else apply_orientation(alpha, o)
        dpi = tinfo["dpi"]
        if dpi and o >= 5:
            dpi = (dpi[1], dpi[0])
        return ImageData(
            pixels=pixels, alpha=alpha, mode=tinfo["mode"], format="TIFF", dpi=dpi, source=path,
            icc_profile=icc_for_channels(tinfo["icc_profile"], pixels.shape[2]),
        )
    try:
        with Image.open(path) as other:
            found = other.format
    except Exception:  # noqa: BLE001 - anything Pillow cannot open at all is "not an image"
        found = None
    missing = _heif.missing_reason(path)
    if missing:
        raise ImageReadError(path, missing)
    if found:
        raise ImageReadError(path, f"unsupported image format {found} (supported: {FORMAT_NAMES})")
    raise ImageReadError(path, f"not an image file, or not one of the supported formats ({FORMAT_NAMES})")


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
        return decode(p, MAX_PIXELS)  # the limit read at call time (tests lower it)
    except ImageReadError:
        raise
    except Refused as e:
        raise ImageReadError(p, str(e)) from None
    except UnidentifiedImageError:
        pass  # decided below, outside the except block to keep the traceback short
    except PermissionError as e:
        raise ImageReadError(p, f"permission denied ({e.strerror or e})") from None
    except MemoryError:
        raise ImageReadError(p, "not enough memory to decode this image") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error, IndexError, KeyError, TypeError) as e:
        raise ImageReadError(p, f"truncated or corrupt image data ({type(e).__name__}: {e})") from e
    return decode_unidentified(p, MAX_PIXELS)
