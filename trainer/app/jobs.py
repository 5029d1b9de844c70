"""The application's long jobs, as Qt-free generators run by :mod:`srgan_desktop.worker`.

Each job yields small frozen events (:class:`Stage`, :class:`Progress`, and the upscale pipeline's
``FileStarted``/``FileDone``) and returns its result; ``cancel`` is the worker's abort event, shared
with the inference engine so a cancel stops the current tile. Upscale mode runs one file through
:mod:`trainer.pipeline`, the same code as ``srgan-upscale`` (same output names, formats, model per
file and ``FileDone`` events); evaluation mode and :func:`compare_item` share its model picking and
loaded models. torch is imported inside the jobs, in the worker thread, never at module import:
the window must appear before torch is loaded.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from trainer.app.analysis import (
    HEATMAP_VMAX,
    Scores,
    abs_error_y,
    bicubic_layer,
    lr_consistency,
    niqe_scores,
    whole_scores,
)
from trainer.app.layers import ERROR_OF_BICUBIC, ERROR_OF_SR2, Layer, fit_to, heatmap, to_display_u8
from trainer.pipeline import FileDone, FileProgress, FileStarted
from trainer.pipeline.engines import EngineCache, EngineSettings
from trainer.pipeline.outsize import OutputSize

if TYPE_CHECKING:  # torch, numpy-heavy modules: imported in the worker thread only
    from trainer.imageio import ImageData
    from trainer.inference import Upscaler
    from trainer.pipeline import ModelPicker, Planner

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

    ``model`` is ``"auto"`` (a model per file, see ``trainer.pipeline.models``), a zoo name or a
    model file path; None runs the bicubic baseline only (evaluation). ``fmt`` is an output format
    or ``"same"`` (the input's decoded format). ``planner`` is the queue's shared
    ``trainer.pipeline.Planner`` for these output rules (names given to earlier items stay theirs);
    None plans the item on its own. ``size`` is the output size of saved files (the planner's
    rules hold it too); the comparator shows the model's output at the model's scale.
    """

    model: str | None
    device: str = "auto"
    precision: str = "auto"
    evaluate: bool = False
    save: bool = True
    out_dir: Path | None = None
    template: str = "{stem}_x{scale}"
    fmt: str = "same"
    quality: int = 95
    protect: tuple[Path, ...] = ()
    tile: int | None = None
    backend: str = "auto"
    planner: Planner | None = None
    size: OutputSize = OutputSize()

    @property
    def engine_settings(self) -> EngineSettings:
        return EngineSettings(device=self.device, precision=self.precision, tile=self.tile, max_tile=GUI_MAX_TILE,
                              backend=self.backend)


@dataclass
class ItemResult:
    """Everything the comparator and the readouts show for one processed item."""

    source: Path
    evaluate: bool
    scale: int
    original_size: tuple[int, int]  # (w, h) of the file as read (the HR in evaluation mode)
    input_size: tuple[int, int]  # (w, h) given to the model
    output_size: tuple[int, int]  # (w, h) of the saved file (the chosen output size), else of the SR layer
    layers: dict[str, Layer]
    models: dict[str, str] = field(default_factory=dict)  # layer key -> model name
    device: str = ""
    precision: str = ""  # what ran: fp32, fp16, bf16 ("" unknown)
    backend: str = ""  # what ran the network: torch, openvino ("" unknown)
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


# Loaded models kept between items: with "auto" two models alternate, and "Compare models" adds a
# third; all stay loaded (a model is a few MB, loading one per image would dominate small jobs).
ENGINES = EngineCache(keep=3)


class FileFailed(RuntimeError):
    """The pipeline reported the item's file as failed (the message is ``"PATH: reason"``)."""


def model_title(model: str | None) -> str:
    """Short name of a model argument (a file's stem, a zoo name as is; ``bicubic`` for None)."""
    if not model:
        return "bicubic"
    from trainer.pipeline import model_label

    return model_label(model)


def _pick(model: str) -> ModelPicker:
    """``trainer.pipeline.pick_models`` with a message the queue row can show."""
    from trainer.pipeline import pick_models
    from trainer.zoo import ZooError

    try:
        return pick_models(model)
    except ZooError as exc:
        raise RuntimeError(str(exc)) from None


def _read_input(path: Path, evaluate: bool, scale: int) -> tuple[ImageData, np.ndarray | None, np.ndarray, tuple[int, int]]:
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


def _moving_bar(tiles: list[int], lo: float, hi: float) -> Any:
    """Progress inside a tile's forward pass (``tiles`` = [done, total], kept up to date by the
    caller), posted through ``trainer.live`` to whoever runs the job: a one-tile image moves the bar
    instead of jumping from ``lo`` to ``hi`` at the end."""
    from trainer import live
    from trainer.inference.cancel import forward_listener

    return forward_listener(lambda f: live.post(Progress(lo + (hi - lo) * (tiles[0] + f) / tiles[1], "")))


def _run_engine(engine: Upscaler, image: ImageData, cancel: threading.Event | None, lo: float, hi: float) -> Iterator[Any]:
    """Drive ``engine.run`` and translate its events; returns the ``UpscaleFinished`` event."""
    from trainer.inference import TileDone, TilesPlanned, UpscaleFinished

    finished = None
    tiles = [0, 1]  # done, total
    with _moving_bar(tiles, lo, hi):
        for event in engine.run(image, cancel=cancel):
            if isinstance(event, TilesPlanned):
                tiles[:] = [0, max(1, event.total)]
                yield Progress(lo, f"Upscaling ({event.total} tile{'s' if event.total != 1 else ''})")
            elif isinstance(event, TileDone):
                tiles[:] = [event.done, max(1, event.total)]
                yield Progress(lo + (hi - lo) * event.done / max(1, event.total), f"Upscaling: tile {event.done}/{event.total}")
            elif isinstance(event, UpscaleFinished):
                finished = event
    if finished is None:
        raise RuntimeError("the inference engine ended without a result")
    return finished


def _upscale(model: str, options: JobOptions, image: ImageData, lr: np.ndarray, cancel: threading.Event | None,
             lo: float, hi: float) -> Iterator[Any]:
    """Run ``model`` (evaluation, comparison); returns (display uint8 RGB, seconds, device, tile size,
    precision).

    Evaluation of an image of moderate size runs ``srgan-eval``'s whole-image function (the
    tiling engine folds batch norm and blends tiles, which can move a few pixels by one level and
    the figures in their last digit); everything else runs the tiling engine.
    """
    settings = options.engine_settings
    if options.evaluate and lr.shape[0] * lr.shape[1] <= EVAL_WHOLE_IMAGE_PIXELS:
        yield Progress(lo, "Upscaling (whole image, as srgan-eval)")
        device = str(ENGINES.get(model, settings).device)
        fn = ENGINES.whole_image_fn(model, options.device, options.backend)
        from trainer.inference.cancel import cancellable_forward

        t0 = time.perf_counter()
        with cancellable_forward(cancel):  # a cancel stops the forward within a layer
            sr = fn(lr)
        seconds = time.perf_counter() - t0
        yield Progress(hi, "Upscaled")
        return sr, seconds, device, 0, "fp32"  # srgan-eval's protocol runs in fp32
    engine = ENGINES.for_image(model, settings, image.height, image.width)
    finished = yield from _run_engine(engine, image, cancel, lo, hi)
    img = finished.image
    return to_display_u8(img.pixels, img.alpha), float(finished.seconds), str(finished.device), finished.tile_size, finished.precision


def _as_gui_events(gen: Any, lo: float, hi: float, model: str = "") -> Iterator[Any]:
    """Drive a pipeline generator: ``FileProgress`` becomes :class:`Stage`/:class:`Progress` (the
    queue row's step and bar), ``FileStarted``/``FileDone`` pass through; returns its value."""
    tiles = [0, 1]  # done, total: for the bar inside a tile's forward pass
    try:
        while True:
            try:
                with _moving_bar(tiles, lo, hi):
                    event = next(gen)
            except StopIteration as stop:
                return stop.value
            if isinstance(event, FileProgress) and event.total:
                tiles[:] = [event.done, max(1, event.total)]
            if isinstance(event, FileStarted):
                model = event.model
                yield event
            elif isinstance(event, FileProgress):
                if event.stage == "loading model":
                    yield Stage(f"Loading model {model}".strip(), 0.0)
                elif event.stage == "reading":
                    yield Stage("Reading", 0.04)
                elif event.stage == "saving":
                    yield Stage("Saving", hi + 0.02)
                elif event.done == 0:
                    yield Progress(lo, f"Upscaling with {model} ({event.total} tile{'s' if event.total != 1 else ''})")
                else:
                    yield Progress(lo + (hi - lo) * event.done / max(1, event.total),
                                   f"Upscaling with {model}: tile {event.done}/{event.total}")
            else:
                yield event
    finally:
        gen.close()  # a cancelled item closes the pipeline in this (worker) thread


def _upscale_file(path: Path, root: Path | None, options: JobOptions, cancel: threading.Event | None) -> Iterator[Any]:
    """Upscale mode through the pipeline; returns (image as read, upscaled image, UpscaleFinished,
    scale, model label, output path or None, (width, height) saved or None). Saves (planned like
    ``srgan-upscale``) when ``options.save``."""
    from trainer import pipeline

    yield Stage("Loading model", 0.0)
    models = _pick(options.model)
    settings = options.engine_settings
    source = pipeline.in_folder(path, root) if root is not None else pipeline.Source(path)
    if not options.save:  # re-showing an item: the same model as when it was saved, nothing planned
        model = models.for_file(pipeline.sniff(path), path)
        label = pipeline.model_label(model)
        yield FileStarted(1, 1, path, None, label)
        gen = pipeline.upscale_file(path, model, ENGINES, settings, cancel)
        image, finished = yield from _as_gui_events(gen, 0.05, 0.8, label)
        return image, finished.image, finished, ENGINES.scale(model, settings), label, None, None
    planner = options.planner
    if planner is None:
        rules = pipeline.OutputRules(Path(options.out_dir or path.parent / "upscaled"), options.template, options.fmt,
                                     options.quality, size=options.size)
        planner = pipeline.Planner(rules)
    planner.protect((path, *options.protect))
    planned = planner.plan(source, models, lambda m: ENGINES.scale(m, settings))  # loads the model
    gen = pipeline.process_file(planned, ENGINES, settings, cancel, protect=(path,))
    outcome = yield from _as_gui_events(gen, 0.05, 0.8)
    done: FileDone = outcome.done
    if done.status != "written":
        raise FileFailed(f"{path}: {done.reason}")
    return outcome.image, outcome.upscaled, outcome.finished, planned.scale, done.model, done.output, outcome.saved_size


def process_item(
    path: Path, root: Path | None, options: JobOptions, cancel: threading.Event | None = None
) -> Iterator[Stage | Progress]:
    """Upscale (or evaluate) one file; returns an :class:`ItemResult`.

    Upscale mode: the file is the input, run through ``trainer.pipeline`` (model per file, planned
    output name and format, atomic save, never over an input); the pipeline's ``FileStarted`` and
    ``FileDone`` are yielded as they are, and a failed file raises :class:`FileFailed`. Evaluation
    mode: the file is the ground truth; the LR input is made with the protocol's bicubic and
    upscaled by the chosen model (under ``auto`` the clean one); nothing is saved.
    """
    path = Path(path)
    if options.model is None and not options.evaluate:
        raise RuntimeError("no model to upscale with: no model is shipped yet; import a model file (File > Import model file...)")
    sr = None
    if not options.evaluate:
        image, sr_image, finished, scale, label, output, saved = yield from _upscale_file(path, root, options, cancel)
        hr, lr, original = None, to_display_u8(image.pixels, image.alpha), (image.width, image.height)
        sr = to_display_u8(sr_image.pixels, sr_image.alpha)
        # output_size: the file saved (the output size chosen); the layers stay at the model's scale.
        result = ItemResult(path, False, scale, original, original, saved or (sr.shape[1], sr.shape[0]), {})
        result.models["sr"], result.seconds["sr"] = label, float(finished.seconds)
        result.device, result.tile_size, result.output = str(finished.device), finished.tile_size, output
        result.precision = getattr(finished, "precision", "")
        result.backend = getattr(finished, "backend", "")
        del image, sr_image, finished  # only the display copies are kept: free the full-size images now
    else:
        model = None
        if options.model is not None:
            yield Stage("Loading model", 0.0)
            model = _pick(options.model).for_evaluation()
        scale = ENGINES.scale(model, options.engine_settings) if model is not None else DEFAULT_SCALE
        yield Stage("Reading", 0.04)
        image, hr, lr, original = _read_input(path, True, scale)
        result = ItemResult(path, True, scale, original, (lr.shape[1], lr.shape[0]),
                            (lr.shape[1] * scale, lr.shape[0] * scale), {})
        if model is not None:
            sr, seconds, device, tile_size, precision = yield from _upscale(model, options, image, lr, cancel, 0.05, 0.8)
            result.models["sr"], result.seconds["sr"] = model_title(model), seconds
            result.device, result.tile_size, result.precision = device, tile_size, precision
    layers = result.layers
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
        if sr is not None:  # every result has its error map: the baseline's too
            layers[ERROR_OF_BICUBIC] = Layer(ERROR_OF_BICUBIC, "Error |bicubic - HR| on Y",
                                             heatmap(abs_error_y(hr, bicubic), HEATMAP_VMAX))
    return result


def compare_item(result: ItemResult, options: JobOptions, cancel: threading.Event | None = None) -> Iterator[Stage | Progress]:
    """Run a second model on the same input as ``result``; returns a copy with layer ``sr2``."""
    if options.model is None:
        raise RuntimeError("choose a second model to compare with")
    yield Stage("Loading model", 0.0)
    models = _pick(options.model)
    if result.evaluate:
        model = models.for_evaluation()
    else:
        from trainer.pipeline import sniff

        model = models.for_file(sniff(result.source), result.source)
    scale = ENGINES.scale(model, options.engine_settings)
    yield Stage("Reading", 0.04)
    # Evaluation: the protocol at the model's own scale (its LR, its HR crop, shave = its scale);
    # upscaling: the same input. A result of another scale is shown at the canvas's size.
    image, hr, lr, _ = _read_input(result.source, result.evaluate, scale if result.evaluate else result.scale)
    options = dataclasses.replace(options, evaluate=result.evaluate)
    sr2, seconds, _, _, _ = yield from _upscale(model, options, image, lr, cancel, 0.05, 0.85)
    yield Stage("Comparing", 0.9)
    title = model_title(model)
    layers = dict(result.layers)
    canvas = result.layers["bicubic"].pixels.shape[:2]
    shown = f" (x{scale}, shown at x{result.scale})" if scale != result.scale else ""
    layers["sr2"] = Layer("sr2", f"SR: {title}{shown}", fit_to(sr2, *canvas, same_grid=result.evaluate))
    new = dataclasses.replace(result, layers=layers, models={**result.models, "sr2": title},
                              seconds={**result.seconds, "sr2": seconds},
                              scores=dict(result.scores), consistency=dict(result.consistency),
                              niqe=dict(result.niqe))
    if hr is not None:
        new.scores.update(whole_scores(hr, {"sr2": sr2}, scale))
        error = fit_to(heatmap(abs_error_y(hr, sr2), HEATMAP_VMAX), *canvas, same_grid=True)
        layers[ERROR_OF_SR2] = Layer(ERROR_OF_SR2, f"Error |{title} - HR| on Y", error)
    new.consistency["sr2"] = lr_consistency(lr, sr2)
    new.niqe.update(niqe_scores({"sr2": sr2}, scale))
    return new
