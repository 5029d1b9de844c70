"""What an input file is, from its header only, and the output format that follows from it.

:func:`sniff` opens the file lazily with Pillow (the header is parsed, no pixel is decoded), so a
folder of thousands of photos is planned in a moment. For WebP it also reads the RIFF chunk
headers, because Pillow does not say whether a WebP is lossy: the image data chunk is ``VP8 ``
(lossy) or ``VP8L`` (lossless), possibly after a ``VP8X`` header and ``ICCP``/``ALPH``/``EXIF``
chunks, or inside the first ``ANMF`` frame of an animation.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import BinaryIO

from PIL import Image

from trainer.choices import OUTPUT_FORMATS, SAME_FORMAT
from trainer.imageio import heif as _heif
from trainer.imageio.read import TIFF_MAGIC as _TIFF_MAGIC  # the reader's own list: what it reads with tifffile

SAME = SAME_FORMAT
# Decoded format (Pillow's name) -> output format for "same". MPO is how Pillow names a camera
# JPEG with an embedded preview; formats that cannot be written (BMP, GIF, unknown) give PNG.
# HEIC and AVIF are read, not written: their photos become JPEGs (a lossy photo format every viewer
# opens; a PNG of a 12 MP phone photo upscaled 4x would be several hundred MB).
_SAME_FORMAT = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp", "TIFF": "tiff", "HEIF": "jpg", "AVIF": "jpg"}
_LOSSY = ("JPEG", "MPO", "HEIF", "AVIF")  # AVIF and HEIF can be lossless, but phones and the web use them lossy
_MAX_CHUNKS = 64  # a well-formed WebP names its image chunk within a handful of chunks


@dataclass(frozen=True)
class Sniffed:
    """``format``: Pillow's format name ("PNG", "JPEG", "MPO", "WEBP", ...) or None when the header
    is not an image Pillow knows; ``lossy``: True for JPEG, lossy WebP, HEIC/HEIF and AVIF, False for
    lossless data, None when unknown."""

    format: str | None
    lossy: bool | None = None
    # (width, height) from the header, as read: EXIF orientation applied (a quarter turn swaps them)
    size: tuple[int, int] | None = field(default=None, compare=False)
    frames: int = field(default=1, compare=False)  # frames of an animation (1: a still image)


def sniff(path: str | os.PathLike[str]) -> Sniffed:
    """The format of ``path`` from its header (never raises: unreadable files give ``Sniffed(None)``)."""
    size, frames = None, 1
    _heif.register()
    try:
        with Image.open(path) as im:  # lazy: only the header is read
            fmt = str(im.format) if im.format else None
            size = (int(im.size[0]), int(im.size[1]))
            if _orientation(im) >= 5:  # a quarter turn: the image as read (and upscaled) is h x w
                size = (size[1], size[0])
            frames = _frames(im)
    except Exception:  # noqa: BLE001 - missing, junk or unsupported: reading the file will say why
        fmt = _tiff_by_magic(path)
    if fmt is None:
        return Sniffed(None)
    if fmt in _LOSSY:
        return Sniffed(fmt, True, size)
    if fmt == "WEBP":
        return Sniffed(fmt, webp_is_lossy(path), size, frames)
    return Sniffed(fmt, False, size, frames)


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1-8) when the header holds it; 1 otherwise. A PNG's EXIF may follow the
    pixel data, where asking for it would decode the image: only one already seen counts."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        with warnings.catch_warnings():  # "Corrupt EXIF data": the reader says what matters
            warnings.simplefilter("ignore")
            value = int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - damaged metadata: the reader drops it too
        return 1
    return value if 1 <= value <= 8 else 1


def _frames(im: Image.Image) -> int:
    """Frames of an animated GIF/PNG/WebP (1 for a still image or another format)."""
    if im.format not in ("GIF", "PNG", "WEBP") or not getattr(im, "is_animated", False):
        return 1
    try:
        return max(1, int(getattr(im, "n_frames", 1)))
    except Exception:  # noqa: BLE001 - counting GIF frames decodes them: damage is found when reading
        return 2


# Output formats that can hold an animation (an animated input to any other is refused); "gif"
# only as the "same" format of an animated GIF (a still GIF becomes PNG).
ANIMATED_FORMATS = ("png", "webp", "gif")
# Largest width/height each output format can store (TIFF/PNG: far beyond any image read here).
MAX_SIDE = {"jpg": 65535, "webp": 16383, "gif": 65535}


def size_problem(fmt: str, width: int, height: int) -> str:
    """Why an output of ``width`` x ``height`` cannot be written as ``fmt`` ("" when it can)."""
    limit = MAX_SIDE.get(fmt)
    if limit is None or (width <= limit and height <= limit):
        return ""
    name = {"jpg": "JPEG", "webp": "WebP", "gif": "GIF"}[fmt]
    return (f"the output ({width} x {height} px) is too large for {name}, which stores at most {limit} px a side; "
            "choose PNG or TIFF (--format png or --format tiff)")


def _tiff_by_magic(path: str | os.PathLike[str]) -> str | None:
    # e.g. 16-bit grey+alpha TIFF: Pillow cannot open it, trainer.imageio reads it with tifffile.
    try:
        with open(path, "rb") as fh:
            return "TIFF" if fh.read(4) in _TIFF_MAGIC else None
    except OSError:
        return None


def webp_is_lossy(path: str | os.PathLike[str]) -> bool | None:
    """True for ``VP8 `` image data, False for ``VP8L``, None when the file is not a readable WebP."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                return None
            end = 8 + struct.unpack("<I", head[4:8])[0]
            return _image_chunk(fh, end, in_frame=False)
    except (OSError, struct.error):
        return None


def _image_chunk(fh: BinaryIO, end: int, *, in_frame: bool) -> bool | None:
    for _ in range(_MAX_CHUNKS):
        start = fh.tell()
        if start + 8 > end:
            return None
        header = fh.read(8)
        if len(header) < 8:
            return None
        fourcc, size = header[:4], struct.unpack("<I", header[4:])[0]
        if fourcc == b"VP8 ":
            return True
        if fourcc == b"VP8L":
            return False
        if fourcc == b"ANMF" and not in_frame:
            fh.seek(16, os.SEEK_CUR)  # frame header: x, y, width, height, duration, flags
            return _image_chunk(fh, start + 8 + size, in_frame=True)
        fh.seek(start + 8 + size + (size & 1))  # chunks are padded to an even size
    return None


def output_format(sniffed: Sniffed, chosen: str | None = None) -> str:
    """``chosen`` (one of ``trainer.imageio.OUTPUT_FORMATS``), or for None / ``"same"`` the input's
    decoded format when it can be written (PNG, JPEG, WebP, TIFF), ``jpg`` for HEIC/HEIF and AVIF
    photos, else ``png``."""
    if chosen is not None and chosen != SAME:
        if chosen not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {', '.join(OUTPUT_FORMATS)} or {SAME!r}, got {chosen!r}")
        return chosen
    if sniffed.format == "GIF" and sniffed.frames > 1:
        return "gif"  # an animation stays an animated GIF
    return _SAME_FORMAT.get(sniffed.format or "", "png")
