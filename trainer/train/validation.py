"""Validation during training: the protocol's Y-PSNR/SSIM of the EMA generator on a folder.

Images are prepared once (HR cropped to a multiple of the scale, MATLAB-bicubic LR, the bicubic
baseline and its figures), so each validation only runs the network and the metrics. The first
images also give the sample crops (LR, bicubic, SR, HR) shown by the GUI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainer.train.events import SampleCrops
from trainer.webdegrade import WebDegradation


@dataclass(frozen=True)
class _ValImage:
    name: str
    hr: np.ndarray
    lr: np.ndarray
    bicubic: np.ndarray
    bicubic_psnr: float
    bicubic_ssim: float


def _mean_niqe(images: list[np.ndarray], scale: int) -> float | None:
    """Mean NIQE (shave ``scale``) over the images large enough to have one."""
    from trainer.niqe import niqe

    values = [v for v in (niqe(im, shave=scale) for im in images) if v is not None]
    return float(np.mean(values)) if values else None


def _dot_lattice(image: np.ndarray, scale: int) -> float | None:
    """The dot-lattice measure on the model's ``scale`` lattice (cheap: a blur per image)."""
    from trainer.metrics import dot_lattice

    return dot_lattice(image, period=scale, shave_px=scale) if scale > 1 else None


def _mean_dot_lattice(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def default_val_dir() -> Path | None:
    """The benchmark Set5 folder when present (``../shared/data/benchmarks/Set5``), else None."""
    from trainer.paths import benchmarks_dir

    folder = benchmarks_dir() / "Set5"
    return folder if folder.is_dir() else None


class Validator:
    """Protocol metrics of a generator on the images of ``folder`` (means over the images).

    Raises ``trainer.evaluation.EvaluationError`` for a missing/empty folder or unreadable image.
    """

    def __init__(self, folder: str | Path, *, scale: int, max_images: int = 0, sample_size: int = 96, samples: int = 2,
                 files: list[Path] | None = None, name: str = "", niqe: bool = False,
                 degradation: WebDegradation | None = None) -> None:
        from trainer.evaluation import EvaluationError, image_files, read_rgb_u8
        from trainer.metrics import bicubic_upscale, prepare_pair, psnr_y, ssim_y

        self.folder = Path(folder)
        self._name = name
        if files is None and not self.folder.is_dir():
            raise EvaluationError(self.folder, "validation folder not found (data.val_dir)")
        files = image_files(self.folder) if files is None else list(files)
        if max_images:
            files = files[:max_images]
        if not files:
            raise EvaluationError(self.folder, "no images in the validation folder (data.val_dir)")
        self.scale = scale
        self.sample_size = sample_size - sample_size % scale
        self.n_samples = samples
        self.images: list[_ValImage] = []
        self.degradation = degradation
        for i, path in enumerate(files):
            if degradation is None:
                hr, lr = prepare_pair(read_rgb_u8(path), scale)
            else:  # image i gets seed base + i, as srgan-eval --degradation web numbers them
                hr, lr, _ = degradation.make_pair(read_rgb_u8(path), scale, i)
            bic = bicubic_upscale(lr, scale)
            self.images.append(_ValImage(path.name, hr, lr, bic, psnr_y(hr, bic, shave=scale), ssim_y(hr, bic, shave=scale)))
        self.bicubic_psnr = float(np.mean([im.bicubic_psnr for im in self.images]))
        self.bicubic_ssim = float(np.mean([im.bicubic_ssim for im in self.images]))
        self.niqe = niqe
        self.last_niqe: float | None = None
        self.hr_niqe = _mean_niqe([im.hr for im in self.images], scale) if niqe else None
        #: mean :func:`trainer.metrics.dot_lattice` of the last run's outputs, and of the HR images
        self.last_dot_lattice: float | None = None
        self.hr_dot_lattice = _mean_dot_lattice([_dot_lattice(im.hr, scale) for im in self.images])

    @property
    def name(self) -> str:
        """The folder's name (``Set5``), or the name given (``holdout``), with ``@web:SEED`` when
        the LR images are web-degraded (as ``srgan-eval`` keys its sets)."""
        base = self._name or self.folder.name
        return base if self.degradation is None else f"{base}@{self.degradation.key}"

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def run(self, model: nn.Module, device: torch.device) -> tuple[float, float, dict[str, tuple[float, float]], tuple[SampleCrops, ...], float]:
        """``(psnr, ssim, per_image, samples, seconds)`` of ``model`` (eval mode, fp32, whole images).
        With ``niqe``, :attr:`last_niqe` is then the mean NIQE of the outputs (None when no image
        is large enough); :attr:`last_dot_lattice` is always set."""
        from trainer.metrics import psnr_y, ssim_y
        from trainer.tensor import to_numpy, to_tensor

        start = time.perf_counter()
        was_training = model.training
        model.eval()
        per_image: dict[str, tuple[float, float]] = {}
        samples: list[SampleCrops] = []
        outputs = []  # kept for NIQE only (a large validation set's outputs need not stay in memory)
        dots = []
        try:
            for i, im in enumerate(self.images):
                sr = to_numpy(model(to_tensor(im.lr).to(device)).float())
                per_image[im.name] = (psnr_y(im.hr, sr, shave=self.scale), ssim_y(im.hr, sr, shave=self.scale))
                dots.append(_dot_lattice(sr, self.scale))
                if self.niqe:
                    outputs.append(sr)
                if i < self.n_samples and self.sample_size:
                    samples.append(self._crops(im, sr))
        finally:
            model.train(was_training)
        psnr = float(np.mean([v[0] for v in per_image.values()]))
        ssim = float(np.mean([v[1] for v in per_image.values()]))
        self.last_niqe = _mean_niqe(outputs, self.scale) if self.niqe else None
        self.last_dot_lattice = _mean_dot_lattice(dots)
        return psnr, ssim, per_image, tuple(samples), time.perf_counter() - start

    def _crops(self, im: _ValImage, sr: np.ndarray) -> SampleCrops:
        s = self.scale
        size = min(self.sample_size, im.hr.shape[0] - im.hr.shape[0] % s, im.hr.shape[1] - im.hr.shape[1] % s)
        y = ((im.hr.shape[0] - size) // 2) // s * s
        x = ((im.hr.shape[1] - size) // 2) // s * s
        cut = (slice(y, y + size), slice(x, x + size))
        lr_cut = (slice(y // s, (y + size) // s), slice(x // s, (x + size) // s))
        return SampleCrops(im.name, im.lr[lr_cut].copy(), im.bicubic[cut].copy(), sr[cut].copy(), im.hr[cut].copy())
