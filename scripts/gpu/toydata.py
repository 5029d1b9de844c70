"""Data for the run: the bundle's layout, toy data for ``--smoke``, Set5 pairs for the engine checks.

Layout (the bundle made by ``scripts/gpu_bundle.sh``, and the toy folder alike)::

    DATA/train/...            training images (searched recursively)
    DATA/benchmarks/Set5/     validation and the engine checks (HR; LR made with the protocol's bicubic)

``SRGAN_SHARED_DATA`` is pointed at ``DATA`` so that ``data.val_dir = "auto"`` and the evaluation
helpers find this Set5 and never ``../shared`` (which does not travel to the device machine).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth, textured HxWx3 uint8 image (sines plus a little noise): photo-like enough for
    metrics and training steps, and the same on every machine."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    chans = [127 + 100 * np.sin(x / (3 + seed % 5) + c) * np.cos(y / (4 + c + seed % 3)) for c in range(3)]
    img = np.stack(chans, -1) + rng.normal(0, 4, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_toy_data(root: Path, *, train: int = 6, train_size: tuple[int, int] = (48, 64), val: int = 2, val_size: tuple[int, int] = (48, 48)) -> Path:
    """Toy training images and a toy Set5 under ``root`` (the bundle's layout); returns ``root``."""
    from PIL import Image

    (root / "train" / "toy").mkdir(parents=True, exist_ok=True)
    (root / "benchmarks" / "Set5").mkdir(parents=True, exist_ok=True)
    for i in range(train):
        Image.fromarray(smooth_image(*train_size, seed=i)).save(root / "train" / "toy" / f"img{i:02d}.png")
    for i in range(val):
        Image.fromarray(smooth_image(*val_size, seed=100 + i)).save(root / "benchmarks" / "Set5" / f"val{i}.png")
    return root


def set5_pairs(data: Path, scale: int = 4, limit: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, hr, lr)`` of the Set5 images: HR cropped to the scale, LR by MATLAB bicubic (PROTOCOL.md)."""
    from trainer.evaluation import image_files, read_rgb_u8
    from trainer.metrics import prepare_pair

    files = image_files(data / "benchmarks" / "Set5")
    if limit:
        files = files[:limit]
    pairs = []
    for path in files:
        hr, lr = prepare_pair(read_rgb_u8(path), scale)
        pairs.append((path.name, hr, lr))
    return pairs


def photo(h: int, w: int, data: Path) -> np.ndarray:
    """An HxWx3 photo for memory and speed runs: the largest training image, resized (bicubic) to
    the size; toy data when there is none."""
    from PIL import Image

    from trainer.imageio import iter_image_files

    files = [f for f, _ in iter_image_files([data / "train"], recursive=True)]
    if not files:
        return smooth_image(h, w, 0)
    largest = max(files, key=lambda f: f.stat().st_size)
    with Image.open(largest) as im:
        return np.array(im.convert("RGB").resize((w, h), Image.BICUBIC))  # a writable copy
