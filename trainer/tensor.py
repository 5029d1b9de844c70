"""The one place where numpy HWC images and core tensors are converted.

Core contract: float32 NCHW RGB (or 1-channel grey) in [0, 1].
Numpy side: HxW or HxWxC arrays, ``uint8`` (0..255) or ``uint16`` (0..65535); the bit depth is
decided by the dtype, never by looking at pixel values (a dark 16-bit image has a small maximum).
"""

from __future__ import annotations

import numpy as np
import torch

_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def dtype_max(dtype: np.dtype | type) -> float:
    """Full-scale value of an integer image dtype (uint8 -> 255, uint16 -> 65535)."""
    dt = np.dtype(dtype)
    if dt not in _MAX:
        raise TypeError(f"unsupported image dtype {dt}; expected uint8 or uint16")
    return _MAX[dt]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC uint8/uint16 (or float in [0, 1]) -> float32 (1, C, H, W) in [0, 1]."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        data = arr.astype(np.float32, copy=False)
    else:
        data = arr.astype(np.float32) / dtype_max(arr.dtype)
    return torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1))).unsqueeze(0)


def to_numpy(tensor: torch.Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) float tensor -> HxWxC integer array.

    Values are clamped to [0, 1], scaled to the dtype's full range and *rounded* (the protocol's
    uint8 quantisation; truncation would bias every pixel down by half a level).
    """
    t = tensor.detach()
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected a batch of one image, got {tuple(t.shape)}")
        t = t[0]
    if t.ndim != 3:
        raise ValueError(f"expected (C, H, W) or (1, C, H, W), got {tuple(t.shape)}")
    scale = dtype_max(dtype)
    arr = t.float().clamp_(0.0, 1.0).mul_(scale).round_().permute(1, 2, 0).cpu().numpy()
    return arr.astype(dtype)
