"""Running a plan: read, upscale (``trainer.inference.Upscaler``), resample to the output size,
save atomically, report per file.

Generators: each ``yield`` is a point where a GUI worker may pause or cancel. One bad file never
stops the batch: read, model and write errors become a ``failed`` :class:`FileDone`; only a
cancel (``UpscaleCancelled``, raised when ``cancel`` is set) or ``KeyboardInterrupt`` ends a run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.imageio import ImageData, ImageReadError, ImageWriteError, read_image, save_image
from trainer.pipeline.engines import EngineCache, EngineSettings
from trainer.pipeline.events import FileDone, FileProgress, FileStarted, PipelineEvent
from trainer.pipeline.outsize import OutputSizeError
from trainer.pipeline.plan import PlannedFile


@dataclass
class FileOutcome:
    """What :func:`process_file` returns: its :class:`FileDone`, and for a written file the image
    as read, the model's upscaled image (at the model's scale: what the comparator shows), the
    engine's ``UpscaleFinished`` (seconds, device, tile size) and the (width, height) saved."""

    done: FileDone
    image: ImageData | None = None
    upscaled: ImageData | None = None
    finished: Any = None  # trainer.inference.UpscaleFinished
    saved_size: tuple[int, int] | None = None


def fit_output(planned: PlannedFile, source_width: int, source_height: int, upscaled: ImageData) -> tuple[ImageData, float]:
    """The model's output at the planned output size and the factor for the saved DPI.

    The model's own scale is left as it is (byte-identical outputs); any other size is a final
    resample of the model's output (:func:`trainer.imageio.resample.resample`). Raises
    :class:`~trainer.pipeline.outsize.OutputSizeError` for a target outside 1x-8x of this image.
    """
    if planned.size.is_model_scale:
        return upscaled, float(planned.scale)
    from trainer.imageio.resample import resample

    width, height = planned.size.target(source_width, source_height, planned.scale)
    return resample(upscaled, width, height), width / source_width


def upscale_file(
    path: Path,
    model: str,
    engines: EngineCache,
    settings: EngineSettings,
    cancel: threading.Event | None = None,
) -> Generator[FileProgress, None, tuple[ImageData, Any]]:
    """Read ``path`` and upscale it with ``model``; returns (image as read, ``UpscaleFinished``).

    Raises ``ImageReadError``, model errors, ``UpscaleCancelled``.
    """
    from trainer.inference import TileDone, TilesPlanned, UpscaleFinished

    yield FileProgress(path, "loading model")
    engines.get(model, settings)  # load (or find loaded) before reading: a model error names no file
    yield FileProgress(path, "reading")
    image = read_image(path)
    engine = engines.for_image(model, settings, image.height, image.width)
    finished = None
    for event in engine.run(image, cancel=cancel):
        if isinstance(event, TilesPlanned):
            yield FileProgress(path, "upscaling", 0, event.total)
        elif isinstance(event, TileDone):
            yield FileProgress(path, "upscaling", event.done, event.total)
        elif isinstance(event, UpscaleFinished):
            finished = event
    if finished is None:
        raise RuntimeError("the inference engine ended without a result")
    return image, finished


def process_file(
    planned: PlannedFile,
    engines: EngineCache,
    settings: EngineSettings,
    cancel: threading.Event | None = None,
    *,
    protect: Iterable[str | os.PathLike[str]] = (),
    index: int = 1,
    total: int = 1,
) -> Generator[PipelineEvent, None, FileOutcome]:
    """Carry out one planned file: ``FileStarted``, ``FileProgress``..., ``FileDone``.

    ``protect``: files ``save_image`` must refuse to write (the plan already keeps outputs off the
    inputs; this is the last line of defence).
    """
    src = planned.source.path
    yield FileStarted(index, total, src, planned.output, planned.label)
    if planned.action != "write":
        status = "skipped" if planned.action == "skip" else "failed"
        done = FileDone(src, status, planned.output if status == "skipped" else None, planned.reason, planned.label)
        yield done
        return FileOutcome(done)
    from trainer.inference import UpscaleCancelled

    t0 = time.perf_counter()
    if planned.sniffed.frames > 1:  # GIF/APNG/WebP animation: frame by frame, saved as an animation
        return (yield from _process_animation(planned, engines, settings, cancel, protect, t0))
    try:
        image, finished = yield from upscale_file(src, planned.model, engines, settings, cancel)
        yield FileProgress(src, "saving")
        output, dpi_scale = fit_output(planned, image.width, image.height, finished.image)
        # dpi_scale: the printed size of the upscaled image stays that of the original.
        save_image(output, planned.output, format=planned.format, quality=planned.quality,
                   dpi_scale=dpi_scale, overwrite=planned.overwrite, protect=protect)
        saved = (output.width, output.height)
        del output
    except UpscaleCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad file (or a model error) must not stop the batch
        done = FileDone(src, "failed", None, _failure_reason(exc), planned.label, time.perf_counter() - t0)
        yield done
        return FileOutcome(done)
    done = FileDone(src, "written", planned.output, "", planned.label, time.perf_counter() - t0)
    yield done
    return FileOutcome(done, image, finished.image, finished, saved)


def _failure_reason(exc: Exception) -> str:
    """The ``FileDone`` reason of a file that failed (stills and animations alike)."""
    from trainer.inference import NonFiniteOutputError  # lazy, as the callers' torch-side imports

    if isinstance(exc, (ImageReadError, ImageWriteError)):
        return exc.reason
    if isinstance(exc, OutputSizeError):  # a target size only known to be out of range once decoded
        return str(exc)
    if isinstance(exc, NonFiniteOutputError):  # never an all-black image: nothing is written
        return f"{exc}; nothing written"
    return f"{type(exc).__name__}: {exc}"


def _process_animation(
    planned: PlannedFile,
    engines: EngineCache,
    settings: EngineSettings,
    cancel: threading.Event | None,
    protect: Iterable[str | os.PathLike[str]],
    t0: float,
) -> Generator[PipelineEvent, None, FileOutcome]:
    """Every frame upscaled (progress: ``done`` of ``total`` frames) and resampled to the output
    size, durations, loop count and transparency kept, saved atomically as an animation of
    ``planned.format``."""
    import trainer.imageio.read as _read  # MAX_PIXELS at call time, as read_image uses it
    from trainer.imageio.animation import Animation, read_animation, save_animation
    from trainer.inference import UpscaleCancelled, UpscaleFinished

    src = planned.source.path
    try:
        yield FileProgress(src, "loading model")
        engines.get(planned.model, settings)
        yield FileProgress(src, "reading")
        read_image(src)  # the checks of a still image first (size limit, damage) with their messages
        animation = read_animation(src, _read.MAX_PIXELS)
        frames, shown, finished = [], None, None
        total = len(animation.frames)
        yield FileProgress(src, "upscaling", 0, total)
        for n, frame in enumerate(animation.frames, 1):
            engine = engines.for_image(planned.model, settings, frame.height, frame.width)
            for event in engine.run(frame, cancel=cancel):
                if isinstance(event, UpscaleFinished):
                    finished = event
            if shown is None:  # the first frame at the model's scale, for the comparator
                shown = finished.image
            frames.append(fit_output(planned, frame.width, frame.height, finished.image)[0])
            yield FileProgress(src, "upscaling", n, total)
        yield FileProgress(src, "saving")
        result = Animation(frames, animation.durations, animation.loop, animation.format, src)
        save_animation(result, planned.output, format=planned.format, quality=planned.quality,
                       overwrite=planned.overwrite, protect=protect)
    except UpscaleCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad file (or a model error) must not stop the batch
        done = FileDone(src, "failed", None, _failure_reason(exc), planned.label, time.perf_counter() - t0)
        yield done
        return FileOutcome(done)
    done = FileDone(src, "written", planned.output, "", planned.label, time.perf_counter() - t0)
    yield done
    return FileOutcome(done, animation.frames[0], shown, finished, (frames[0].width, frames[0].height))


# A temporary file nobody has written to for this long belongs to a killed run, whatever its name.
STALE_SECONDS = 3600.0


def clean_leftovers(plan: Iterable[PlannedFile]) -> int:
    """Remove the hidden temporary files (``trainer.atomic``'s pattern only) that a killed run
    (SIGKILL, power loss) left in the folders this plan writes to: those of the names about to be
    written, and any untouched for :data:`STALE_SECONDS`. Returns how many were removed."""
    from trainer.atomic import remove_leftovers

    folders: dict[Path, set[str]] = {}
    for planned in plan:
        if planned.action == "write":
            folders.setdefault(Path(planned.output).parent, set()).add(Path(planned.output).name)
    return sum(remove_leftovers(folder, names=names, older_than=STALE_SECONDS) for folder, names in folders.items())


def run_plan(
    plan: Sequence[PlannedFile],
    engines: EngineCache,
    settings: EngineSettings,
    cancel: threading.Event | None = None,
    *,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[PipelineEvent]:
    """Every planned file in order (:func:`process_file`); the images are not kept. First the
    temporary files a killed earlier run left in the output folders are removed (:func:`clean_leftovers`)."""
    protect = tuple(protect)
    clean_leftovers(plan)
    for n, planned in enumerate(plan, 1):
        yield from process_file(planned, engines, settings, cancel, protect=protect, index=n, total=len(plan))
