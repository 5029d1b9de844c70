"""Running a plan: read, upscale (``trainer.inference.Upscaler``), save atomically, report per file.

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
from trainer.pipeline.plan import PlannedFile


@dataclass
class FileOutcome:
    """What :func:`process_file` returns: its :class:`FileDone`, and for a written file the image
    as read, the upscaled image and the engine's ``UpscaleFinished`` (seconds, device, tile size)."""

    done: FileDone
    image: ImageData | None = None
    upscaled: ImageData | None = None
    finished: Any = None  # trainer.inference.UpscaleFinished


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
    try:
        image, finished = yield from upscale_file(src, planned.model, engines, settings, cancel)
        yield FileProgress(src, "saving")
        # dpi_scale: the printed size of the upscaled image stays that of the original.
        save_image(finished.image, planned.output, format=planned.format, quality=planned.quality,
                   dpi_scale=float(planned.scale), overwrite=planned.overwrite, protect=protect)
    except UpscaleCancelled:
        raise
    except (ImageReadError, ImageWriteError) as exc:
        done = FileDone(src, "failed", None, exc.reason, planned.label, time.perf_counter() - t0)
        yield done
        return FileOutcome(done)
    except Exception as exc:  # noqa: BLE001 - one bad file (or a model error) must not stop the batch
        done = FileDone(src, "failed", None, f"{type(exc).__name__}: {exc}", planned.label, time.perf_counter() - t0)
        yield done
        return FileOutcome(done)
    done = FileDone(src, "written", planned.output, "", planned.label, time.perf_counter() - t0)
    yield done
    return FileOutcome(done, image, finished.image, finished)


def run_plan(
    plan: Sequence[PlannedFile],
    engines: EngineCache,
    settings: EngineSettings,
    cancel: threading.Event | None = None,
    *,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[PipelineEvent]:
    """Every planned file in order (:func:`process_file`); the images are not kept."""
    protect = tuple(protect)
    for n, planned in enumerate(plan, 1):
        yield from process_file(planned, engines, settings, cancel, protect=protect, index=n, total=len(plan))
