"""Evaluate an upscaling method on a folder of ground-truth images, following PROTOCOL.md.

Qt-free and written as a generator of small frozen events (:func:`iter_evaluate_set`) so that the
CLI can drive a progress bar and a GUI worker can forward the same events as signals;
:func:`evaluate_set` is the plain blocking call.

For each HR image: crop to a multiple of the scale, make the LR with MATLAB bicubic, upscale it
with ``upscale_fn`` (``None`` = the bicubic baseline), then PSNR/SSIM on Y with ``scale`` pixels
shaved. The set's figures are the means of the per-image values. ``seconds_per_image`` times only
the upscaling (the method being compared), not the LR generation or the metrics.

With ``degradation`` (a :class:`trainer.webdegrade.WebDegradation`) the LR is the seeded web-like
degradation of the HR image instead (image ``i`` of the sorted files uses seed ``base_seed + i``),
and each image also gets the blockiness (:mod:`trainer.blockiness`) of the result and, for
reference, of the HR image. Clean evaluations leave the blockiness fields ``None``: they are not
computed, so the clean protocol's figures and timings stay what they were.

With ``niqe=True`` each image also gets the NIQE (:mod:`trainer.niqe`, ``scale`` pixels shaved) of
the result and, for reference, of the HR image; the set's NIQE is the mean over the images that have
one (an image under two 96-pixel blocks a side has none). Off by default, like the blockiness.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trainer.blockiness import blockiness
from trainer.errors import FileError
from trainer.imageio import SUPPORTED_SUFFIXES, ImageReadError, read_image, to_uint8
from trainer.metrics import bicubic_upscale, prepare_pair, psnr_y, ssim_y
from trainer.niqe import niqe as niqe_score
from trainer.paths import benchmarks_dir
from trainer.webdegrade import WebDegradation, WebParams

if TYPE_CHECKING:
    import torch
    from torch import nn

    from trainer.loaded_model import LoadedModel

BENCHMARK_SETS = ("Set5", "Set14", "BSD68")

UpscaleFn = Callable[[np.ndarray], np.ndarray]


class EvaluationError(FileError):
    """A data set or a method cannot be evaluated; ``path`` (the folder/file, when one applies) and ``reason``."""


@dataclass(frozen=True)
class ImageResult:
    """Figures of one image."""

    name: str
    psnr: float
    ssim: float
    seconds: float = 0.0  # time spent in the upscaling function
    blockiness: float | None = None  # of the result; degraded evaluations only
    hr_blockiness: float | None = None  # of the HR image, for reference; degraded evaluations only
    params: WebParams | None = None  # the degradation's parameters drawn for this image
    niqe: float | None = None  # of the result (lower is better); with niqe=True only
    hr_niqe: float | None = None  # of the HR image, for reference; with niqe=True only


@dataclass(frozen=True)
class SetResult:
    """Mean figures of a set (means of the per-image values) and the per-image figures."""

    psnr: float
    ssim: float
    images: int
    seconds_per_image: float
    per_image: list[ImageResult] = field(default_factory=list)
    name: str = ""
    blockiness: float | None = None  # mean over the images that have a value (see _mean_defined)
    hr_blockiness: float | None = None
    degradation: str = "bicubic"  # "bicubic" (the clean protocol) or WebDegradation.key, e.g. "web:0"
    niqe: float | None = None  # mean over the images that have a value (see _mean_defined)
    hr_niqe: float | None = None


@dataclass(frozen=True)
class SetStarted:
    """Event: evaluation of ``total`` images of set ``name`` begins."""

    name: str
    total: int


@dataclass(frozen=True)
class ImageEvaluated:
    """Event: image ``done`` of ``total`` has been evaluated."""

    done: int
    total: int
    result: ImageResult


@dataclass(frozen=True)
class SetEvaluated:
    """Event (last): the whole set has been evaluated."""

    result: SetResult


def _suffixes() -> frozenset[str]:
    return frozenset(s.lower() for s in SUPPORTED_SUFFIXES)


def image_files(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name (hidden files skipped)."""
    suffixes = _suffixes()
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )


def read_rgb_u8(path: Path) -> np.ndarray:
    """HxWx3 RGB (or HxWx1 grey) uint8 pixels of an image file; alpha is ignored, 16-bit is reduced
    to 8 bits (the protocol is defined on 8-bit images)."""
    try:
        pixels = read_image(path).pixels
    except ImageReadError as exc:
        raise EvaluationError(exc.path, exc.reason) from exc
    return to_uint8(pixels)


def list_benchmark_sets() -> list[str]:
    """Names of the standard sets (Set5, Set14, BSD68) present under :func:`benchmarks_dir`."""
    root = benchmarks_dir()
    return [name for name in BENCHMARK_SETS if (root / name).is_dir()]


def resolve_dataset(name_or_folder: str | Path) -> tuple[str, Path]:
    """``(name, folder)`` for a benchmark set name (case-insensitive) or a folder of images.

    Raises :class:`EvaluationError` for a missing folder, a file instead of a folder, or a folder
    without images.
    """
    text = str(name_or_folder)
    known = {n.lower(): n for n in BENCHMARK_SETS}
    path = Path(text).expanduser()
    if text.lower() in known and not path.is_dir():
        name = known[text.lower()]
        folder = benchmarks_dir() / name
        if not folder.is_dir():
            raise EvaluationError(
                f"benchmark set {name} not found: {folder} does not exist (set SRGAN_SHARED_DATA to the shared data folder)"
            )
    else:
        folder = path
        if not folder.exists():
            raise EvaluationError(
                folder, f"no such folder (give a folder of images or one of {', '.join(BENCHMARK_SETS)})"
            )
        if not folder.is_dir():
            raise EvaluationError(folder, "not a folder (give a folder of images)")
        name = folder.resolve().name
    if not image_files(folder):
        raise EvaluationError(folder, f"no images ({', '.join(sorted(_suffixes()))})")
    return name, folder


def _mean_defined(values: list[float | None]) -> float | None:
    """Mean of the values that are numbers (an image too small for the block grid has ``nan``)."""
    numbers = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(numbers)) if numbers else None


def iter_evaluate_set(
    folder: str | Path,
    upscale_fn: UpscaleFn | None = None,
    scale: int = 4,
    *,
    name: str | None = None,
    degradation: WebDegradation | None = None,
    niqe: bool = False,
) -> Iterator[SetStarted | ImageEvaluated | SetEvaluated]:
    """Evaluate ``upscale_fn`` (``lr_u8 HxWx3 -> sr_u8``; None = bicubic) on every image of ``folder``.

    ``degradation`` None is the clean protocol (MATLAB-bicubic LR); a :class:`WebDegradation`
    makes the LR of image ``i`` (0-based, sorted by name) with seed ``base_seed + i``. ``niqe``
    adds the NIQE of the result and of the HR image (not timed).
    Yields :class:`SetStarted`, one :class:`ImageEvaluated` per image, then :class:`SetEvaluated`.
    """
    folder = Path(folder)
    name = name or folder.name
    if not folder.is_dir():
        raise EvaluationError(folder, "no such folder")
    files = image_files(folder)
    if not files:
        raise EvaluationError(folder, f"no images ({', '.join(sorted(_suffixes()))})")
    yield SetStarted(name, len(files))
    results: list[ImageResult] = []
    for i, path in enumerate(files, 1):
        params = None
        try:
            if degradation is None:
                hr, lr = prepare_pair(read_rgb_u8(path), scale)
            else:
                hr, lr, params = degradation.make_pair(read_rgb_u8(path), scale, i - 1)
        except ValueError as exc:  # e.g. smaller than the scale
            raise EvaluationError(path, str(exc)) from exc
        start = time.perf_counter()
        sr = bicubic_upscale(lr, scale) if upscale_fn is None else upscale_fn(lr)
        seconds = time.perf_counter() - start
        sr = np.asarray(sr)
        if sr.dtype != np.uint8 or sr.shape != hr.shape:
            raise EvaluationError(
                path, f"the method returned {sr.dtype} {sr.shape} for a {lr.shape[1]}x{lr.shape[0]} input; "
                f"expected uint8 {hr.shape} (x{scale})"
            )
        try:
            result = ImageResult(path.name, psnr_y(hr, sr, shave=scale), ssim_y(hr, sr, shave=scale), seconds)
            if degradation is not None:
                result = replace(
                    result, blockiness=blockiness(sr, scale), hr_blockiness=blockiness(hr, scale), params=params
                )
        except ValueError as exc:  # too small for the shave or the SSIM window
            raise EvaluationError(path, str(exc)) from exc
        if niqe:
            result = replace(result, niqe=niqe_score(sr, shave=scale), hr_niqe=niqe_score(hr, shave=scale))
        results.append(result)
        yield ImageEvaluated(i, len(files), result)
    # A perfect image has PSNR inf (see trainer.metrics); the mean then is inf too, deliberately.
    yield SetEvaluated(
        SetResult(
            psnr=float(np.mean([r.psnr for r in results])),
            ssim=float(np.mean([r.ssim for r in results])),
            images=len(results),
            seconds_per_image=float(np.mean([r.seconds for r in results])),
            per_image=results,
            name=name,
            blockiness=_mean_defined([r.blockiness for r in results]),
            hr_blockiness=_mean_defined([r.hr_blockiness for r in results]),
            degradation="bicubic" if degradation is None else degradation.key,
            niqe=_mean_defined([r.niqe for r in results]),
            hr_niqe=_mean_defined([r.hr_niqe for r in results]),
        )
    )


def evaluate_set(
    folder: str | Path,
    upscale_fn: UpscaleFn | None = None,
    scale: int = 4,
    *,
    degradation: WebDegradation | None = None,
    niqe: bool = False,
) -> SetResult:
    """Blocking form of :func:`iter_evaluate_set`: the set's :class:`SetResult`."""
    result = None
    for event in iter_evaluate_set(folder, upscale_fn, scale, degradation=degradation, niqe=niqe):
        if isinstance(event, SetEvaluated):
            result = event.result
    assert result is not None  # the generator always ends with SetEvaluated
    return result


def model_upscale_fn(model: LoadedModel | nn.Module, device: str | torch.device | None = None) -> UpscaleFn:
    """An ``upscale_fn`` running ``model`` (NCHW float in [0, 1] -> x scale) on the whole LR image.

    ``model`` is a :class:`~trainer.loaded_model.LoadedModel` (or a bare ``nn.Module``).

    ``device`` (name or torch.device; None = where the model already is) is where it runs, in the
    model's own dtype; the output is clamped and rounded to uint8 by :func:`trainer.tensor.to_numpy`.
    Non-finite output raises ``trainer.inference.NonFiniteOutputError`` (never a PSNR of black).
    """
    import torch

    from trainer.device import resolve_device
    from trainer.tensor import to_numpy, to_tensor

    from trainer.loaded_model import LoadedModel

    if isinstance(model, LoadedModel):
        model = model.module
    param = next(model.parameters(), None)
    if device is None:
        dev = param.device if param is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    model = model.to(dev).eval()

    def upscale(lr_u8: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = model(to_tensor(lr_u8).to(device=dev, dtype=dtype))
        if not bool(torch.isfinite(out).all()):  # NaN would be scored as black: no figure at all
            from trainer.inference.events import NonFiniteOutputError

            raise NonFiniteOutputError("the model produced non-finite values (NaN or infinity)")
        return to_numpy(out.float())  # .cpu() inside waits for the device, so timings are honest

    return upscale
