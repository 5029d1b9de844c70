"""The application's long jobs, as Qt-free generators run by :mod:`srgan_desktop.worker`.

Each job yields small frozen events (:class:`Stage`, :class:`Progress`) and returns its result;
``cancel`` is the worker's abort event, shared with the inference engine so a cancel stops the
current tile. ``trainer`` (and therefore torch) is imported inside the jobs, in the worker thread,
never at module import: the window must appear before torch is loaded.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from srgan_desktop.analysis import (
    HEATMAP_VMAX,
    Scores,
    abs_error_y,
    bicubic_layer,
    lr_consistency,
    niqe_scores,
    whole_scores,
)
from srgan_desktop.layers import Layer, heatmap, to_display_u8
from srgan_desktop.naming import output_format, output_path

DEFAULT_SCALE = 4  # bicubic-only evaluation (no model) uses the project's scale
# Whole-image inference (no tiling) in evaluation mode up to this LR size, so the numbers are those
# of srgan-eval, which runs the network on the whole LR image.
EVAL_WHOLE_IMAGE_PIXELS = 1_500_000
# Largest tile (input pixels per side) in the GUI. Cancel and pause act between tiles and progress
# moves per tile, so a whole 1000x1000 image as one tile would leave the user without either for
# minutes on a CPU; 512 costs about 20 % more computation (the tiles' context padding).
GUI_MAX_TILE = 512


@dataclass(frozen=True)
class Stage:
    """Event: the job entered a named step ("Loading model", "Upscaling", "Saving", ...)."""

    text: str
    fraction: float = 0.0


@dataclass(frozen=True)
class Progress:
    """Event: ``fraction`` (0..1) of the current item is done."""

    fraction: float
    text: str = ""


@dataclass(frozen=True)
class JobOptions:
    """What one item is processed with (a snapshot: changing settings does not touch a running item).

    ``model`` is a zoo name or a model file path; None runs the bicubic baseline only (evaluation).
    """

    model: str | None
    device: str = "auto"
    precision: str = "auto"
    evaluate: bool = False
    save: bool = True
    out_dir: Path | None = None
    template: str = "{stem}_x{scale}"
    fmt: str = "png"
    quality: int = 95
    protect: tuple[Path, ...] = ()
    tile: int | None = None


@dataclass
class ItemResult:
    """Everything the comparator and the readouts show for one processed item."""

    source: Path
    evaluate: bool
    scale: int
    original_size: tuple[int, int]  # (w, h) of the file as read (the HR in evaluation mode)
    input_size: tuple[int, int]  # (w, h) given to the model
    output_size: tuple[int, int]
    layers: dict[str, Layer]
    models: dict[str, str] = field(default_factory=dict)  # layer key -> model name
    device: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # layer key -> inference seconds
    tile_size: int | None = None
    output: Path | None = None
    scores: dict[str, Scores] = field(default_factory=dict)  # evaluation mode: vs HR
    consistency: dict[str, float] = field(default_factory=dict)  # LR-consistency PSNR per result
    niqe: dict[str, float | None] = field(default_factory=dict)  # layer key -> NIQE (None: n/a)
    error_of: str = ""  # which result the error heat-map shows

    @property
    def has_ground_truth(self) -> bool:
        return "hr" in self.layers


class _Engines:
    """Loaded models kept between items (loading a model per image would dominate small jobs).

    The two most recently used models stay loaded (a model and the one it is compared with). Per
    model, an :class:`~trainer.inference.Upscaler` is built for each (device, precision, tile)
    setting, and a whole-image function identical to ``srgan-eval``'s for evaluation.
    """

    KEEP = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple, tuple[Any, dict]] = {}  # (path, mtime) -> (module, {setting: engine})

    def _entry(self, model: str) -> tuple[Any, dict]:
        from trainer import zoo

        entry = zoo.find_model(model)
        key = (str(entry.path), entry.path.stat().st_mtime_ns)
        if key not in self._models:
            while len(self._models) >= self.KEEP:
                self._models.pop(next(iter(self._models)))
            self._models[key] = (entry.load(device="cpu"), {})
        value = self._models.pop(key)
        self._models[key] = value  # most recently used last
        return value

    def get(self, model: str, device: str, precision: str, tile: int | None) -> Any:
        """The tiling engine (progress per tile, cancellable, out-of-memory fallback)."""
        from trainer.inference import Upscaler

        with self._lock:
            module, engines = self._entry(model)
            setting = (device, precision, tile)
            if setting not in engines:
                engines[setting] = Upscaler(module, device=device, precision=precision, tile=tile)
            return engines[setting]

    def whole_image_fn(self, model: str, device: str) -> Any:
        """``srgan-eval``'s own upscale function (the network on the whole LR image, fp32), so the
        evaluation figures are those the command prints."""
        from trainer.evaluation import model_upscale_fn

        with self._lock:
            module, engines = self._entry(model)
            setting = ("eval", device)
            if setting not in engines:
                engines[setting] = model_upscale_fn(module, device)
            return engines[setting]

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


ENGINES = _Engines()


def model_title(model: str | None) -> str:
    """Short name of a model argument (a file's stem, a zoo name as is)."""
    if not model:
        return "bicubic"
    p = Path(model)
    return p.stem if p.suffix else model


def _read_input(path: Path, evaluate: bool, scale: int) -> tuple[Any, np.ndarray | None, np.ndarray, tuple[int, int]]:
    """(image for the engine, HR uint8 or None, LR uint8 RGB for display/metrics, original (w, h))."""
    if evaluate:
        # The very reader and pair maker of srgan-eval: same pixels, same numbers.
        from trainer.evaluation import read_rgb_u8
        from trainer.imageio import ImageData
        from trainer.metrics import prepare_pair

        full = read_rgb_u8(path)
        hr, lr = prepare_pair(full, scale)
        image = ImageData(pixels=lr, alpha=None, mode="RGB", format=None, icc_profile=None, exif=None,
                          dpi=None, source=None, palette_transparency=False)
        return image, hr, lr, (full.shape[1], full.shape[0])
    from trainer.imageio import read_image

    image = read_image(path)
    return image, None, to_display_u8(image.pixels, image.alpha), (image.width, image.height)


def _run_engine(engine: Any, image: Any, cancel: threading.Event | None, lo: float, hi: float) -> Iterator[Any]:
    """Drive ``engine.run`` and translate its events; returns the ``UpscaleFinished`` event."""
    from trainer.inference import TileDone, TilesPlanned, UpscaleFinished

    finished = None
    for event in engine.run(image, cancel=cancel):
        if isinstance(event, TilesPlanned):
            yield Progress(lo, f"Upscaling ({event.total} tile{'s' if event.total != 1 else ''})")
        elif isinstance(event, TileDone):
            yield Progress(lo + (hi - lo) * event.done / max(1, event.total), f"Upscaling: tile {event.done}/{event.total}")
        elif isinstance(event, UpscaleFinished):
            finished = event
    if finished is None:
        raise RuntimeError("the inference engine ended without a result")
    return finished


def _upscale(engine: Any, options: JobOptions, image: Any, lr: np.ndarray, cancel: threading.Event | None,
             lo: float, hi: float) -> Iterator[Any]:
    """Run the model; returns (result image or None, display uint8 RGB, seconds, device, tile size).

    Evaluation of an image of moderate size runs ``srgan-eval``'s whole-image function (the
    tiling engine folds batch norm and blends tiles, which can move a few pixels by one level and
    the figures in their last digit); everything else runs the tiling engine.
    """
    if options.evaluate and lr.shape[0] * lr.shape[1] <= EVAL_WHOLE_IMAGE_PIXELS:
        yield Progress(lo, "Upscaling (whole image, as srgan-eval)")
        fn = ENGINES.whole_image_fn(options.model, options.device)
        if cancel is not None and cancel.is_set():
            from trainer.inference import UpscaleCancelled

            raise UpscaleCancelled("upscale cancelled")
        t0 = time.perf_counter()
        sr = fn(lr)
        seconds = time.perf_counter() - t0
        yield Progress(hi, "Upscaled")
        return None, sr, seconds, str(engine.device), 0
    planned = engine.tile_for(image.height, image.width)
    if max(image.height, image.width) > GUI_MAX_TILE and (planned == 0 or planned > GUI_MAX_TILE):
        engine = ENGINES.get(options.model, options.device, options.precision, GUI_MAX_TILE)
    finished = yield from _run_engine(engine, image, cancel, lo, hi)
    img = finished.image
    return img, to_display_u8(img.pixels, img.alpha), float(finished.seconds), str(finished.device), finished.tile_size


def process_item(
    path: Path, root: Path | None, options: JobOptions, cancel: threading.Event | None = None
) -> Iterator[Stage | Progress]:
    """Upscale (or evaluate) one file; returns an :class:`ItemResult`.

    Upscale mode: the file is the input; the result is saved (never over an input). Evaluation mode:
    the file is the ground truth; the LR input is made with the protocol's bicubic; nothing is saved.
    """
    path = Path(path)
    if options.model is None and not options.evaluate:
        raise RuntimeError("no model to upscale with: no model is shipped yet; import a model file (File > Import model file...)")
    engine = None
    if options.model is not None:
        yield Stage("Loading model", 0.0)
        tile = options.tile
        engine = ENGINES.get(options.model, options.device, options.precision, tile)
    scale = int(engine.scale) if engine is not None else DEFAULT_SCALE
    yield Stage("Reading", 0.04)
    image, hr, lr, original = _read_input(path, options.evaluate, scale)
    layers: dict[str, Layer] = {}
    result = ItemResult(path, options.evaluate, scale, original, (lr.shape[1], lr.shape[0]),
                        (lr.shape[1] * scale, lr.shape[0] * scale), layers)
    sr = None
    if engine is not None:
        sr_image, sr, seconds, device, tile_size = yield from _upscale(engine, options, image, lr, cancel, 0.05, 0.8)
        result.models["sr"] = model_title(options.model)
        result.seconds["sr"] = seconds
        result.device, result.tile_size = device, tile_size
        if options.save and not options.evaluate:
            yield Stage("Saving", 0.82)
            result.output = _save(sr_image, path, root, options, scale)
    yield Stage("Comparing", 0.86)
    # Evaluation needs the protocol's bicubic exactly (srgan-eval's baseline); upscaling a large
    # photo only needs a picture to compare with.
    if options.evaluate:
        from trainer.metrics import bicubic_upscale

        bicubic = bicubic_upscale(lr, scale)
    else:
        bicubic = bicubic_layer(lr, scale)
    if hr is not None:
        results = {"bicubic": bicubic} if sr is None else {"bicubic": bicubic, "sr": sr}
        result.scores = whole_scores(hr, results, scale)
    if sr is not None:
        yield Stage("LR-consistency check", 0.92)
        result.consistency["sr"] = lr_consistency(lr, sr)
    yield Stage("NIQE", 0.94)
    shown = {"bicubic": bicubic, "sr": sr, "hr": hr}
    result.niqe = niqe_scores({k: v for k, v in shown.items() if v is not None}, scale)
    yield Stage("Preparing the view", 0.96)
    layers["lr"] = Layer("lr", f"LR input (nearest x{scale})", lr, factor=scale, nearest=True)
    layers["bicubic"] = Layer("bicubic", "Bicubic", bicubic)
    if sr is not None:
        layers["sr"] = Layer("sr", f"SR: {result.models['sr']}", sr)
    if hr is not None:
        layers["hr"] = Layer("hr", "HR (ground truth)", hr)
        result.error_of = "sr" if sr is not None else "bicubic"
        err = abs_error_y(hr, sr if sr is not None else bicubic)
        layers["error"] = Layer("error", f"Error |{'SR' if sr is not None else 'bicubic'} - HR| on Y", heatmap(err, HEATMAP_VMAX))
    return result


def _save(sr_image: Any, path: Path, root: Path | None, options: JobOptions, scale: int) -> Path:
    from trainer.imageio import save_image

    fmt = output_format(path, options.fmt)
    target = output_path(path, root, out_dir=Path(options.out_dir or path.parent / "upscaled"),
                         template=options.template, scale=scale, model=model_title(options.model), fmt=fmt,
                         protect=options.protect)
    target.parent.mkdir(parents=True, exist_ok=True)
    # dpi_scale: the printed size of the upscaled image stays that of the original.
    return Path(save_image(sr_image, target, format=fmt, quality=options.quality, dpi_scale=float(scale),
                           protect=(path, *options.protect)))


def compare_item(result: ItemResult, options: JobOptions, cancel: threading.Event | None = None) -> Iterator[Stage | Progress]:
    """Run a second model on the same input as ``result``; returns a copy with layer ``sr2``."""
    if options.model is None:
        raise RuntimeError("choose a second model to compare with")
    yield Stage("Loading model", 0.0)
    engine = ENGINES.get(options.model, options.device, options.precision, options.tile)
    if int(engine.scale) != result.scale:
        raise RuntimeError(f"{model_title(options.model)} is a x{engine.scale} model; the result shown is x{result.scale}")
    yield Stage("Reading", 0.04)
    image, hr, lr, _ = _read_input(result.source, result.evaluate, result.scale)
    options = dataclasses.replace(options, evaluate=result.evaluate)
    _, sr2, seconds, _, _ = yield from _upscale(engine, options, image, lr, cancel, 0.05, 0.85)
    yield Stage("Comparing", 0.9)
    title = model_title(options.model)
    layers = dict(result.layers)
    layers["sr2"] = Layer("sr2", f"SR: {title}", sr2)
    new = dataclasses.replace(result, layers=layers, models={**result.models, "sr2": title},
                              seconds={**result.seconds, "sr2": seconds},
                              scores=dict(result.scores), consistency=dict(result.consistency),
                              niqe=dict(result.niqe))
    if hr is not None:
        new.scores.update(whole_scores(hr, {"sr2": sr2}, result.scale))
    new.consistency["sr2"] = lr_consistency(lr, sr2)
    new.niqe.update(niqe_scores({"sr2": sr2}, result.scale))
    return new
