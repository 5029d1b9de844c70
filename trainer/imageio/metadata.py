"""Metadata helpers for :mod:`trainer.imageio`: EXIF cleaning, EXIF orientation, ICC colour space.

Private to the image I/O layer; import the public API from ``trainer.imageio``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

ORIENTATION_TAG = 0x0112

# TIFF tags that describe how *this file's* pixels are stored (size, strips, compression, colour
# layout, embedded profiles). A TIFF's IFD0 doubles as its EXIF; copying these into another file's
# EXIF would describe pixels that are not there, so they are dropped. Resolution tags go too: the
# DPI travels separately in ``ImageData.dpi`` and is scaled on save, a stale copy would contradict it.
_STRUCTURAL_TAGS = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 282, 283,
        284, 286, 287, 296, 317, 318, 319, 320, 322, 323, 324, 325, 330, 338, 339, 340, 341,
        347, 513, 514, 529, 530, 531, 532, 700, 33723, 34377, 34675,
    }
)


def orientation_of(exif: Image.Exif) -> int:
    """EXIF orientation (1..8); 1 (as stored) when absent or invalid."""
    try:
        value = int(exif.get(ORIENTATION_TAG, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an HxW[xC] array stored with EXIF ``orientation`` into display orientation.

    Same result as ``PIL.ImageOps.exif_transpose`` (a test checks all eight values), but on
    numpy arrays so 16-bit colour data, which Pillow cannot hold, goes through the same code.
    """
    if orientation == 2:
        arr = arr[:, ::-1]
    elif orientation == 3:
        arr = arr[::-1, ::-1]
    elif orientation == 4:
        arr = arr[::-1]
    elif orientation == 5:
        arr = arr.swapaxes(0, 1)
    elif orientation == 6:
        arr = np.rot90(arr, k=-1)
    elif orientation == 7:
        arr = np.rot90(arr, k=2).swapaxes(0, 1)
    elif orientation == 8:
        arr = np.rot90(arr, k=1)
    return np.ascontiguousarray(arr)


def clean_exif(exif: Image.Exif) -> bytes | None:
    """EXIF bytes to carry to an output: orientation reset to 1 (pixels are already upright).

    Tags that describe the source file's own pixel storage are removed (see ``_STRUCTURAL_TAGS``;
    a TIFF's IFD0 is full of them). Returns None when nothing worth keeping is left.
    """
    out = Image.Exif()
    try:
        raw = exif.tobytes()
        out.load(raw)
    except Exception:  # noqa: BLE001 - broken EXIF is dropped, never a reason to refuse the image
        return None
    for tag in list(out.keys()):
        if tag in _STRUCTURAL_TAGS:
            del out[tag]
    # tifffile and ImageJ store the array shape as JSON/text in ImageDescription; carried into an
    # upscaled output it would describe the wrong shape to the next program that trusts it.
    description = out.get(270)
    if isinstance(description, str) and description.lstrip().startswith(('{"shape"', "ImageJ=")):
        del out[270]
    if ORIENTATION_TAG in out:
        out[ORIENTATION_TAG] = 1
    if len(out) == 0:
        return None
    return out.tobytes()


def exif_for_save(exif: bytes | None) -> bytes | None:
    """Normalise EXIF bytes before writing: valid, ``Exif\\0\\0`` header, orientation 1.

    An ``ImageData`` built by other code may carry EXIF whose orientation is not 1; writing it as
    is would make viewers rotate already-upright pixels a second time.
    """
    if not exif:
        return None
    data = exif if exif.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + exif
    parsed = Image.Exif()
    try:
        parsed.load(data)
    except Exception:  # noqa: BLE001 - unreadable EXIF is dropped rather than written corrupt
        return None
    if len(parsed) == 0:
        return None
    if parsed.get(ORIENTATION_TAG, 1) != 1:
        parsed[ORIENTATION_TAG] = 1
        return parsed.tobytes()
    return data


def icc_colour_space(profile: bytes | None) -> str | None:
    """The data colour space an ICC profile applies to ("RGB", "GRAY", "CMYK", ...), from its header."""
    if not profile or len(profile) < 20:
        return None
    return profile[16:20].decode("ascii", "replace").strip()


def icc_for_channels(profile: bytes | None, channels: int) -> bytes | None:
    """Keep ``profile`` only if it fits data with ``channels`` colour channels (1 grey, 3 RGB).

    Attaching a CMYK or grey profile to RGB data (or an RGB one to grey data) makes colour-managed
    viewers misread every pixel, so a mismatching profile is dropped.
    """
    space = icc_colour_space(profile)
    if space is None:
        return None
    wanted = "GRAY" if channels == 1 else "RGB"
    return profile if space == wanted else None


def clean_dpi(value: object) -> tuple[float, float] | None:
    """(x, y) dots per inch from Pillow's ``info["dpi"]``; None when absent or not positive."""
    try:
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if not (x > 0 and y > 0) or not (np.isfinite(x) and np.isfinite(y)):
        return None
    return (x, y)
