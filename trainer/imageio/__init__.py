"""Reading and writing images for the core (Pillow based, Qt-free, no torch import).

Contract: :class:`ImageData` holds *straight* (not premultiplied) colour as ``pixels`` (HxWx3 RGB or
HxWx1 grey, ``uint8`` or ``uint16``) and an optional ``alpha`` (HxW, same dtype). The bit depth is
the dtype, decided by the file's format and sample size, never by pixel values: a dark 16-bit
image whose maximum is below 256 stays 16-bit.

Reading (:func:`read_image`): PNG, JPEG, WebP, TIFF, BMP, GIF (the first page or frame of multi-page
TIFFs and animated GIF/WebP/PNG; a GIF is written as PNG unless another format is chosen), HEIC/HEIF
(phones' photos, through pillow-heif: :mod:`.heif`) and AVIF (Pillow's own).

* EXIF orientation is applied to the pixels (and to the DPI); the EXIF kept in ``ImageData.exif``
  says orientation 1, so a saved output is not rotated twice. Tags describing the source file's own
  pixel storage (a TIFF's strips, sizes, resolution...) are not carried over.
* Modes: ``1`` -> grey 8-bit; ``P`` -> RGB, or RGBA with ``palette_transparency=True`` when the
  palette has transparency; ``L``/``RGB`` with a tRNS colour key -> alpha; ``CMYK``/``YCbCr`` -> RGB
  (Pillow's plain conversion: no colour management; a CMYK ICC profile is *dropped*, because attached
  to RGB data it would make every colour-managed viewer misread the pixels; any profile whose colour
  space does not match the data is dropped for the same reason); ``I;16*``/``I`` -> 16-bit grey
  (``I`` outside 0..65535 is refused); ``F`` (float) is refused. 16-bit RGB(A) and grey+alpha PNG
  and TIFF are read losslessly (see :mod:`trainer.imageio.bit16`); their ``mode`` is reported as
  ``"RGB;16"``, ``"RGBA;16"``, ``"LA;16"`` because Pillow has no such modes.
* ``MAX_PIXELS`` (200 MP; read at call time from :mod:`trainer.imageio.read`, where a caller may
  change it) guards against decompression bombs with a message naming the file and its size. It replaces Pillow's own check, which this module switches off (``Image.MAX_IMAGE_PIXELS
  = None``) because it warns at 89 MP, fails at 179 MP and names no file.
* Every failure is an :class:`ImageReadError` ("PATH: reason"): missing file, folder, empty file,
  not an image, unsupported format, truncated or corrupt data (pixels are decoded eagerly and
  Pillow's ``LOAD_TRUNCATED_IMAGES`` is left False, so truncation is an error, not grey pixels).

Writing (:func:`save_image`): see its docstring for the per-format choices; writes are atomic
(:mod:`trainer.atomic`).

Modules: :mod:`.types` (``ImageData``, errors, premultiplication), :mod:`.read`, :mod:`.write`,
:mod:`.metadata` (EXIF, ICC, DPI), :mod:`.bit16` (16-bit colour PNG/TIFF), :mod:`.files` (expanding
files, folders and patterns), :mod:`.display` (16-bit to 8-bit and display conversions). Import the
public names from ``trainer.imageio``.
"""

from __future__ import annotations

from trainer.choices import OUTPUT_FORMATS
from trainer.imageio.display import to_display_u8, to_rgb_u8, to_uint8
from trainer.imageio.files import SUPPORTED_SUFFIXES, has_glob, iter_image_files
from trainer.imageio.read import MAX_PIXELS, read_image
from trainer.imageio.types import ImageData, ImageReadError, ImageWriteError, premultiply, unpremultiply
from trainer.imageio.write import encode, save_image

__all__ = [
    "MAX_PIXELS",
    "OUTPUT_FORMATS",
    "SUPPORTED_SUFFIXES",
    "ImageData",
    "ImageReadError",
    "ImageWriteError",
    "encode",
    "has_glob",
    "iter_image_files",
    "premultiply",
    "read_image",
    "save_image",
    "to_display_u8",
    "to_rgb_u8",
    "to_uint8",
    "unpremultiply",
]
