"""HEIC/HEIF, the photo format of phones (iPhones by default), through pillow-heif.

pillow-heif (BSD-3, wheels with libheif for Linux, macOS and Windows) registers a Pillow opener;
this module does it once, on first use, so importing the core stays light (pillow-heif takes about
50 ms to import). libheif applies the file's rotation when decoding and pillow-heif then resets the
EXIF orientation to 1, so :mod:`trainer.imageio.read` does not turn the picture a second time.
AVIF needs nothing here: Pillow reads it itself (Pillow >= 11.3, built with libavif).
"""

from __future__ import annotations

import os
from pathlib import Path

HEIF_SUFFIXES = (".heic", ".heif", ".hif")
MISSING = "HEIC/HEIF photos need the pillow-heif package (pip install pillow-heif)"

_registered: bool | None = None


def register() -> bool:
    """Register pillow-heif's opener with Pillow (once); False when pillow-heif is not installed."""
    global _registered
    if _registered is None:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:
            _registered = False
        else:
            register_heif_opener()
            _registered = True
    return _registered


def missing_reason(path: str | os.PathLike[str]) -> str | None:
    """:data:`MISSING` for a HEIC/HEIF file name when pillow-heif is not installed, else None."""
    if Path(path).suffix.lower() in HEIF_SUFFIXES and not register():
        return MISSING
    return None
