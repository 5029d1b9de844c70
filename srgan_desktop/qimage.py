"""The one place where numpy images and ``QImage`` are converted.

numpy side: HxW / HxWx1 grey, HxWx3 RGB, HxWx4 RGBA (straight, not premultiplied), uint8 or uint16
(16-bit is shown at 8 bits). ``QImage`` side: ``Grayscale8``, ``RGB888``, ``RGBA8888``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from trainer.imageio.display import to_display_u8, to_uint8


def array_to_qimage(arr: np.ndarray, alpha: np.ndarray | None = None, *, copy: bool = True) -> QImage:
    """numpy image -> ``QImage``.

    With ``copy=False`` the ``QImage`` reads the array's memory directly (no copy of a large layer);
    the caller must keep the array alive as long as the image. The array must then be uint8,
    C-contiguous, HxWx3 or HxWx1/HxW.
    """
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 4 and alpha is None:
        a, alpha = a[:, :, :3], a[:, :, 3]
    grey = a.ndim == 2 or a.shape[2] == 1
    if a.dtype == np.uint16:
        a = to_display_u8(a) if not grey else to_display_u8(a)[:, :, :1]
    elif a.dtype != np.uint8:
        raise TypeError(f"expected a uint8 or uint16 image, got {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if alpha is not None:
        al = np.asarray(alpha)
        if al.dtype == np.uint16:
            al = to_uint8(al)
        rgb = np.repeat(a, 3, axis=2) if grey else a
        buf = np.ascontiguousarray(np.concatenate([rgb, al[:, :, None].astype(np.uint8)], axis=2))
        fmt, channels = QImage.Format.Format_RGBA8888, 4
        copy = True  # buf is a temporary
    elif grey:
        buf, fmt, channels = np.ascontiguousarray(a[:, :, 0]), QImage.Format.Format_Grayscale8, 1
    else:
        buf, fmt, channels = np.ascontiguousarray(a), QImage.Format.Format_RGB888, 3
    if not copy and not np.shares_memory(buf, np.asarray(arr)):
        copy = True  # a conversion happened: nobody else keeps the converted buffer alive
    h, w = buf.shape[:2]
    img = QImage(buf.data, w, h, w * channels, fmt)
    return img.copy() if copy else img


def qimage_to_array(img: QImage) -> tuple[np.ndarray, np.ndarray | None]:
    """``QImage`` -> (HxWx3 uint8 RGB, HxW uint8 alpha or None when the image is opaque)."""
    has_alpha = img.hasAlphaChannel()
    conv = img.convertToFormat(QImage.Format.Format_RGBA8888 if has_alpha else QImage.Format.Format_RGB888)
    w, h, bpl = conv.width(), conv.height(), conv.bytesPerLine()
    channels = 4 if has_alpha else 3
    raw = np.frombuffer(conv.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    pixels = raw[:, : w * channels].reshape(h, w, channels).copy()
    if has_alpha:
        alpha = pixels[:, :, 3].copy()
        return np.ascontiguousarray(pixels[:, :, :3]), (None if alpha.min() == 255 else alpha)
    return pixels, None
