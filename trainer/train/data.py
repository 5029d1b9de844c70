"""Training data: HR images decoded once into memory, random augmented crops, LR made per batch.

* :class:`ImageStore` scans a folder (recursively), decodes every image once and keeps the pixels
  in memory up to a size cap (images past the cap are decoded again when drawn). Images smaller
  than the crop are skipped with a warning; unreadable files too. An empty or unreadable folder is
  a :class:`DataError` before training starts.
* :class:`CropDataset` maps a *global sample index* to an augmented HR crop (and the paired LR crop
  when the user has an LR folder). The image order and every random choice derive from
  ``(seed, index)`` alone, so the data stream is the same with any number of workers, after a
  resume (the position is just the next step) and across DDP ranks (each takes its own indices).
* :func:`degrade` makes the LR batch on the training device: MATLAB bicubic (the protocol's,
  :func:`trainer.imresize.imresize_torch`), ``F.interpolate`` bicubic with antialiasing, a
  Gaussian blur then subsampling, or the random ``realistic`` blur / resize / noise / JPEG
  pipeline of :mod:`trainer.train.realistic` (on the CPU, seeded by run seed, step and rank).

Tensor contract: the loader yields uint8 (N, 3, H, W) HR crops (and LR crops); :func:`to_float`
moves them to the device as float32 in [0, 1].
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from trainer.config import DataConfig
from trainer.errors import FileError
from trainer.train.holdout import choose_holdout


class DataError(FileError):
    """The training data cannot be used; ``path`` (the folder or file, when one applies) and ``reason``."""


@dataclass(frozen=True)
class TrainImage:
    """One usable training image (and its paired LR file, if any)."""

    path: Path
    height: int
    width: int
    lr_path: Path | None = None


def _to_rgb_u8(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 from the HxWx{1,3} uint8/uint16 pixels of ``read_image`` (alpha ignored; 16-bit
    decided by the dtype, never by values: ``trainer.imageio.display``)."""
    from trainer.imageio.display import to_rgb_u8

    return to_rgb_u8(pixels)


def read_rgb(path: Path) -> np.ndarray:
    """Decode one training image as HxWx3 uint8."""
    from trainer.imageio import read_image

    return _to_rgb_u8(read_image(path).pixels)


class ImageStore:
    """The training images of a folder, decoded once and cached in memory up to ``cache_mb``.

    Attributes: ``images`` (usable :class:`TrainImage` list), ``warnings`` (skipped files, cache
    overflow), ``folder``.
    """

    def __init__(self, folder: str | os.PathLike, *, crop: int, scale: int, cache_mb: int = 4096, lr_folder: str | os.PathLike = "",
                 holdout: int = 0) -> None:
        from trainer.imageio import ImageReadError, iter_image_files

        self.folder = Path(folder).expanduser()
        self.scale = scale
        self.warnings: list[str] = []
        if not str(folder):
            raise DataError("no training folder given (data.train_dir / --data)")
        if not self.folder.is_dir():
            raise DataError(self.folder, "training folder not found" if not self.folder.exists() else "not a folder")
        if not os.access(self.folder, os.R_OK | os.X_OK):
            raise DataError(self.folder, "training folder is not readable (permission denied)")
        lr_root = Path(lr_folder).expanduser() if str(lr_folder) else None
        if lr_root is not None and not lr_root.is_dir():
            raise DataError(lr_root, "LR folder not found")
        files = [f for f, _ in iter_image_files([self.folder], recursive=True)]
        if not files:
            raise DataError(self.folder, "no images found (looked recursively for png, jpg, webp, tiff, bmp)")
        # data.holdout: kept out of training, they validate instead (see trainer.config.DataConfig).
        self.holdout_files = choose_holdout(sorted(files), holdout)
        held = set(self.holdout_files)
        files = [f for f in files if f not in held]
        budget = cache_mb * 1024 * 1024
        used = 0
        self.images: list[TrainImage] = []
        self._cache: dict[int, np.ndarray] = {}
        self._lr_cache: dict[int, np.ndarray] = {}
        lr_index = _index_lr_folder(lr_root) if lr_root else {}
        overflow = 0
        for path in files:
            try:
                hr = read_rgb(path)
            except ImageReadError as exc:
                self.warnings.append(f"skipped unreadable image {exc}")
                continue
            h, w = hr.shape[:2]
            if h < crop or w < crop:
                self.warnings.append(f"skipped {path}: {w}x{h} is smaller than the {crop}x{crop} crop")
                continue
            lr_path = lr = None
            if lr_root is not None:
                lr_path = lr_index.get(path.relative_to(self.folder).with_suffix("").as_posix())
                if lr_path is None:
                    self.warnings.append(f"skipped {path}: no LR image with the same name in {lr_root}")
                    continue
                try:
                    lr = read_rgb(lr_path)
                except ImageReadError as exc:
                    self.warnings.append(f"skipped {path}: LR image unreadable ({exc})")
                    continue
                if lr.shape[0] * scale > h or lr.shape[1] * scale > w or lr.shape[0] < crop // scale or lr.shape[1] < crop // scale:
                    self.warnings.append(f"skipped {path}: LR {lr_path.name} is {lr.shape[1]}x{lr.shape[0]}, does not fit x{scale} of {w}x{h}")
                    continue
            index = len(self.images)
            self.images.append(TrainImage(path, h, w, lr_path))
            size = hr.nbytes + (lr.nbytes if lr is not None else 0)
            if used + size <= budget:
                self._cache[index] = hr
                if lr is not None:
                    self._lr_cache[index] = lr
                used += size
            else:
                overflow += 1
        if not self.images:
            detail = "; ".join(self.warnings[:3])
            raise DataError(self.folder, f"no usable training images ({len(files)} found; {detail})")
        if overflow:
            self.warnings.append(
                f"{overflow} of {len(self.images)} images exceed the {cache_mb} MB cache (data.cache_mb) and are decoded on every use"
            )
        self.cached_bytes = used

    def __len__(self) -> int:
        return len(self.images)

    def hr(self, index: int) -> np.ndarray:
        """HxWx3 uint8 HR pixels of image ``index`` (cached or decoded now)."""
        cached = self._cache.get(index)
        return cached if cached is not None else read_rgb(self.images[index].path)

    def lr(self, index: int) -> np.ndarray:
        """The paired LR pixels of image ``index`` (only with an LR folder)."""
        cached = self._lr_cache.get(index)
        if cached is not None:
            return cached
        lr_path = self.images[index].lr_path
        if lr_path is None:
            raise DataError("no LR folder was given")
        return read_rgb(lr_path)


def _index_lr_folder(root: Path) -> dict[str, Path]:
    from trainer.imageio import iter_image_files

    return {f.relative_to(root).with_suffix("").as_posix(): f for f, _ in iter_image_files([root], recursive=True)}


def _dihedral(arr: np.ndarray, t: int) -> np.ndarray:
    """One of the 8 flips/90-degree rotations of an HxWxC array (``t`` in 0..7)."""
    if t & 1:
        arr = arr[:, ::-1]
    if t & 2:
        arr = arr[::-1]
    if t & 4:
        arr = arr.transpose(1, 0, 2)
    return arr


class CropDataset(Dataset):
    """Global sample index -> augmented HR crop (uint8 3xHxW), or ``(hr, lr)`` with paired LR."""

    def __init__(self, store: ImageStore, *, crop: int, scale: int, seed: int, flips: bool = True, rotations: bool = True) -> None:
        self.store = store
        self.crop = crop
        self.scale = scale
        self.seed = seed
        self.flips = flips
        self.rotations = rotations
        self.paired = any(im.lr_path is not None for im in store.images)

    def __len__(self) -> int:  # nominal; the sampler is infinite
        return len(self.store)

    @lru_cache(maxsize=4)
    def _order(self, epoch: int) -> np.ndarray:
        """Each epoch visits every image once, in an order fixed by (seed, epoch)."""
        return np.random.default_rng([self.seed, 7919, epoch]).permutation(len(self.store))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        n = len(self.store)
        image = int(self._order(index // n)[index % n])
        rng = np.random.default_rng([self.seed, 104729, index])
        info = self.store.images[image]
        s, c = self.scale, self.crop
        if self.paired:
            lr_full = self.store.lr(image)
            lc = c // s
            y = int(rng.integers(0, lr_full.shape[0] - lc + 1))
            x = int(rng.integers(0, lr_full.shape[1] - lc + 1))
            lr = lr_full[y : y + lc, x : x + lc]
            hr = self.store.hr(image)[y * s : y * s + c, x * s : x * s + c]
        else:
            y = int(rng.integers(0, info.height - c + 1))
            x = int(rng.integers(0, info.width - c + 1))
            hr = self.store.hr(image)[y : y + c, x : x + c]
            lr = None
        t = int(rng.integers(0, 8))
        if not self.rotations:
            t &= 3
        if not self.flips:
            t &= 4
        hr_t = torch.from_numpy(np.ascontiguousarray(_dihedral(hr, t).transpose(2, 0, 1)))
        if lr is None:
            return (hr_t,)
        return hr_t, torch.from_numpy(np.ascontiguousarray(_dihedral(lr, t).transpose(2, 0, 1)))


class StepBatchSampler(Sampler[list[int]]):
    """Endless batches of global sample indices from ``start_step`` on; rank ``r`` of ``world``
    takes batch ``step * world + r`` (the distributed sampler: ranks never see the same crop)."""

    def __init__(self, batch_size: int, *, start_step: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.batch_size = batch_size
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            base = (step * self.world_size + self.rank) * self.batch_size
            yield list(range(base, base + self.batch_size))
            step += 1

    def __len__(self) -> int:  # pragma: no cover - endless; DataLoader only asks when it must
        return 2**62


def make_loader(dataset: CropDataset, cfg: DataConfig, *, start_step: int, rank: int, world_size: int, pin_memory: bool) -> DataLoader:
    """A DataLoader over ``dataset`` starting at ``start_step`` (workers persistent, memory pinned on GPUs)."""
    sampler = StepBatchSampler(cfg.batch_size, start_step=start_step, rank=rank, world_size=world_size)
    kwargs = {}
    if cfg.num_workers > 0:
        kwargs = {"persistent_workers": True, "prefetch_factor": 4}
    return DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.num_workers, pin_memory=pin_memory, **kwargs)


def to_float(batch: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 NCHW -> float32 in [0, 1] on ``device`` (non-blocking from pinned memory)."""
    x = batch.to(device, non_blocking=True).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """Normalised 2-D Gaussian of side ``2 * ceil(3 sigma) + 1``."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).float()


def degrade(hr: torch.Tensor, cfg: DataConfig, *, channels_last: bool = False, key: tuple[int, ...] = (0,)) -> torch.Tensor:
    """LR batch from an HR float batch (N, 3, H, W) in [0, 1] on its device, per ``cfg.degradation``.

    ``key`` seeds the random degradations (``realistic``); the loop passes ``(seed, step, rank)`` so
    that a resumed run makes the same batches. The deterministic ones ignore it.
    """
    s = cfg.scale
    with torch.no_grad():
        if cfg.degradation == "realistic":
            from trainer.train.realistic import degrade_batch

            lr = degrade_batch(hr, s, cfg.realistic, key)  # already on 8-bit levels (JPEG last)
        elif cfg.degradation == "bicubic":
            from trainer.imresize import imresize_torch

            lr = imresize_torch(hr, 1.0 / s)
        elif cfg.degradation == "bicubic-torch":
            lr = F.interpolate(hr, scale_factor=1.0 / s, mode="bicubic", antialias=True, align_corners=False)
        else:  # gaussian blur, replicate borders, then every s-th pixel (the "BD" degradation)
            k = gaussian_kernel(cfg.blur_sigma).to(hr.device, hr.dtype)
            r = k.shape[0] // 2
            padded = F.pad(hr, (r, r, r, r), mode="replicate")
            blurred = F.conv2d(padded, k.expand(hr.shape[1], 1, *k.shape).contiguous(), groups=hr.shape[1])
            lr = blurred[:, :, ::s, ::s]
        if cfg.degradation == "realistic":
            pass
        elif cfg.quantize_lr:
            lr = lr.mul(255.0).round_().clamp_(0.0, 255.0).div_(255.0)
        else:
            lr = lr.clamp(0.0, 1.0)
    return lr.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
