"""Encoding :class:`trainer.imageio.ImageData` into a file object, per format (private helper).

The public entry point, with the atomic-write and overwrite rules, is ``trainer.imageio.save_image``;
its docstring lists the per-format decisions implemented here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image

from trainer import imageio_16bit as _b16
from trainer.imageio_meta import exif_for_save, icc_for_channels

if TYPE_CHECKING:
    from trainer.imageio import ImageData

# zlib level for PNG: measured on 2-4 MP photos, level 4 writes 2-3x faster than Pillow's default 6
# for files 1-6 % larger; batch upscaling writes many large outputs.
PNG_COMPRESS_LEVEL = 4


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 rounded to nearest (65535 / 255 = 257 exactly); uint8 unchanged."""
    if arr.dtype == np.uint8:
        return arr
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


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
