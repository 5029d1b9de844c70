"""16-bit colour PNG/TIFF reading and writing for :mod:`trainer.imageio` (private helper).

Pillow holds 16-bit data only for single-channel images (modes ``I;16*``). A 16-bit RGB(A) PNG or
TIFF opens as 8-bit ``RGB``/``RGBA`` (its unpacker keeps the high byte), a 16-bit grey+alpha
PNG as 8-bit ``RGBA``. Reading them through Pillow as-is would silently lose 8 bits.

Reading, lossless, without new dependencies:

* Interleaved layouts Pillow can decode (PNG ``RGB;16B``/``RGBA;16B``, TIFF ``RGB;16L``/
  ``RGBA;16B``/``RGBa;16N``/... with any codec Pillow's libtiff handles) are decoded *twice* by
  Pillow's own decoder with the raw mode swapped between the big- and little-endian unpacker:
  one pass yields the high bytes, the other the low bytes, and ``hi << 8 | lo`` is the exact
  16-bit value. PNG filtering and interlacing stay in Pillow's C code; only the unpacker changes.
* A 16-bit grey+alpha PNG has 4 bytes per pixel, exactly like 8-bit RGBA, so one pass with the
  plain ``RGBA`` unpacker yields (L hi, L lo, A hi, A lo).
* Other TIFF layouts (planar, grey+alpha, files Pillow cannot identify) go through ``tifffile``,
  a scikit-image dependency.

Writing: Pillow cannot write 16-bit colour either, so PNG is encoded here (numpy + zlib, "Sub"
filter) and TIFF through ``tifffile`` (uncompressed, like the other TIFFs this package writes).
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path
from collections.abc import Callable
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile

# PNG raw modes of 16-bit colour data -> (hi-byte raw mode, lo-byte raw mode); None = the
# single-pass grey+alpha trick.
_PNG_LAYOUTS: dict[str, tuple[str, str] | None] = {
    "RGB;16B": ("RGB;16B", "RGB;16L"),
    "RGBA;16B": ("RGBA;16B", "RGBA;16L"),
    "LA;16B": None,
}
_TIFF_BASES = ("RGB", "RGBA", "RGBa")


def _rawmode(tile: ImageFile._Tile) -> str | None:
    args = tile.args
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def png16_layout(im: Image.Image) -> str | None:
    """The raw mode of a 16-bit colour/grey+alpha PNG (``"RGB;16B"``...), None for anything else."""
    if im.format != "PNG" or len(im.tile) != 1:
        return None
    raw = _rawmode(im.tile[0])
    return raw if raw in _PNG_LAYOUTS else None


def tiff16_layout(im: Image.Image) -> tuple[str, str] | None:
    """(hi, lo) raw modes for an interleaved 16-bit RGB/RGBA TIFF Pillow can decode, else None."""
    raws = {_rawmode(t) for t in im.tile}
    if len(raws) != 1:
        return None
    raw = raws.pop()
    if not raw or ";16" not in raw:
        return None
    base, _, suffix = raw.partition(";16")
    if base not in _TIFF_BASES or suffix not in ("L", "B", "N"):
        return None
    if suffix == "N":
        suffix = "L" if sys.byteorder == "little" else "B"
    other = "B" if suffix == "L" else "L"
    # Premultiplied ("RGBa") data is read raw and un-premultiplied by the caller in float, since
    # Pillow's RGBa unpacker would divide in 8 bits.
    base = "RGBA" if base == "RGBa" else base
    # The high byte of a little-endian sample is picked by the ";16L" unpacker, the low byte by
    # ";16B" (and the other way round for big-endian data).
    return (f"{base};16{suffix}", f"{base};16{other}")


def is_tiff16_colour(im: Image.Image) -> bool:
    """True for a TIFF with 16-bit samples and more than one sample per pixel."""
    if im.format != "TIFF":
        return False
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, (8,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return 16 in bits and int(tags.get(277, 1)) > 1


def tiff_associated_alpha(im: Image.Image) -> bool:
    """True when the TIFF's extra sample is associated (premultiplied) alpha."""
    extra = getattr(im, "tag_v2", {}).get(338)
    extra = extra if isinstance(extra, tuple) else (extra,)
    return 1 in extra


def _decode(path: Path, fmt: str, rawmode: str) -> np.ndarray:
    with Image.open(path, formats=[fmt]) as im:
        im.tile = [
            t._replace(args=rawmode if isinstance(t.args, str) else (rawmode, *t.args[1:])) for t in im.tile
        ]
        im.load()
        return np.asarray(im)


def read_hi_lo(path: Path, fmt: str, layout: str | tuple[str, str] | None) -> np.ndarray:
    """Decode 16-bit colour pixels with Pillow (see module doc) -> HxWxC uint16.

    ``layout`` is a PNG raw mode from :func:`png16_layout` or a (hi, lo) pair from
    :func:`tiff16_layout`.
    """
    pair = _PNG_LAYOUTS[layout] if isinstance(layout, str) else layout
    if pair is None:  # 16-bit grey+alpha PNG: one pass, bytes (L hi, L lo, A hi, A lo)
        b = _decode(path, fmt, "RGBA").astype(np.uint16)
        return np.stack([(b[..., 0] << 8) | b[..., 1], (b[..., 2] << 8) | b[..., 3]], axis=-1)
    hi = _decode(path, fmt, pair[0]).astype(np.uint16)
    lo = _decode(path, fmt, pair[1]).astype(np.uint16)
    return (hi << 8) | lo


def read_tiff_tifffile(path: Path, check_size: Callable[[int, int], None]) -> tuple[np.ndarray, dict]:
    """First page of a TIFF via ``tifffile`` -> (HxWxC uint16, tags) for 16-bit grey(+alpha)/RGB(A).

    ``check_size(width, height)`` is called before any pixel is decoded (decompression bombs).

    ``tags`` holds ``associated_alpha``, ``icc_profile``, ``dpi``, ``orientation``, ``mode`` and
    ``size`` so that files Pillow cannot open still get their metadata. Raises ValueError for
    layouts that are not supported (CMYK, float, signed, > 16 bits...).
    """
    import tifffile  # lazy: only 16-bit colour TIFFs need it

    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        if page.bitspersample != 16 or int(page.sampleformat) != 1:
            raise ValueError(f"{page.bitspersample}-bit TIFF samples of format {page.sampleformat!s} are not supported")
        photometric = int(page.photometric)
        samples = int(page.samplesperpixel)
        if photometric not in (1, 2) or (photometric == 2 and samples not in (3, 4)) or (photometric == 1 and samples > 2):
            raise ValueError(f"16-bit TIFF with photometric {page.photometric!s} and {samples} samples is not supported")
        check_size(int(page.imagewidth), int(page.imagelength))
        arr = page.asarray()
        axes = page.axes
        tags = {t.code: t.value for t in page.tags.values()}
    if "S" in axes and axes.index("S") == 0:
        arr = np.moveaxis(arr, 0, -1)  # planar: SYX -> YXS
    if arr.ndim == 2:
        arr = arr[:, :, None]
    info = {
        "associated_alpha": 1 in np.atleast_1d(tags.get(338, ())).tolist(),
        "icc_profile": tags.get(34675) or None,
        "orientation": int(tags.get(274, 1) or 1),
        "mode": {1: "L;16", 2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[arr.shape[2]],
        "dpi": _tiff_dpi(tags),
    }
    return np.ascontiguousarray(arr.astype(np.uint16, copy=False)), info


def _tiff_dpi(tags: dict) -> tuple[float, float] | None:
    try:
        x, y = (n / d for n, d in (tags[282], tags[283]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    unit = int(tags.get(296, 2))
    factor = 2.54 if unit == 3 else 1.0  # 3 = centimetres
    return (x * factor, y * factor) if unit in (2, 3) else None


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png16(
    fh: BinaryIO,
    arr: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    compress_level: int = 6,
) -> None:
    """Encode an HxWxC uint16 array (C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) as a 16-bit PNG."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = np.ascontiguousarray(arr, dtype=">u2").view(np.uint8).reshape(h, w * c * 2)
    bpp = 2 * c
    # "Sub" filter on every row: byte minus the same byte of the pixel to its left (mod 256).
    # One vectorised operation, and far smaller output than no filter on photographic data.
    filtered = raw.copy()
    filtered[:, bpp:] -= raw[:, :-bpp]
    rows = np.concatenate([np.ones((h, 1), np.uint8), filtered], axis=1)
    fh.write(b"\x89PNG\r\n\x1a\n")
    fh.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)))
    if icc_profile:
        fh.write(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if dpi:
        ppm = [max(1, round(v / 0.0254)) for v in dpi]
        fh.write(_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        fh.write(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    data = zlib.compress(rows.tobytes(), compress_level)
    step = 1 << 30
    for start in range(0, max(len(data), 1), step):
        fh.write(_chunk(b"IDAT", data[start : start + step]))
    fh.write(_chunk(b"IEND", b""))


def write_tiff16(
    fh: BinaryIO,
    arr: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    dpi: tuple[float, float] | None = None,
) -> None:
    """Encode an HxWxC uint16 array (C = 2 grey+alpha, 3 RGB, 4 RGBA) as an uncompressed TIFF (tifffile).

    EXIF is not written: tifffile cannot write an EXIF IFD.
    """
    import tifffile  # lazy: only 16-bit colour TIFF output needs it

    c = arr.shape[2]
    kwargs: dict = {
        "photometric": "minisblack" if c <= 2 else "rgb",
        "planarconfig": "contig",
        "metadata": None,  # no tifffile JSON in ImageDescription
        "iccprofile": icc_profile or None,
    }
    if c in (2, 4):
        kwargs["extrasamples"] = ["unassalpha"]
    if dpi:
        kwargs["resolution"] = (float(dpi[0]), float(dpi[1]))
        kwargs["resolutionunit"] = "INCH"
    # Encoded in memory: tifffile wants a file object with a path-like ``name``, and ours (an fd
    # opened for the atomic write) has an integer one.
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(arr), **kwargs)
    fh.write(buf.getbuffer())
