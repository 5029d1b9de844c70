"""The upscale pipeline shared by ``srgan-upscale`` and the desktop app's queue (Qt-free).

scan (:mod:`.scan`) -> plan (:mod:`.plan`) -> run (:mod:`.run`), reporting per file with the events
of :mod:`.events` (``FileStarted``, ``FileProgress``, ``FileDone`` with status ``written``,
``skipped`` or ``failed``, the output path, the reason and the model used). The same inputs and
rules give the same output files and the same ``FileDone`` events from the command and the app.

Rules:

* **Tree**: a file named directly goes into the output folder; a file found in a folder input
  keeps that folder's *name* and the sub-folders below it (``srgan-upscale photos -r -o OUT``
  writes ``OUT/photos/2024/cat_x4.jpg``, exactly what dropping ``photos`` on the app does); a file
  matched by a glob pattern keeps the sub-folders below the pattern's fixed part.
* **Name**: the naming template (``trainer.naming``, default ``{stem}_x{scale}``) plus the format's
  suffix. ``{model}`` is the model used for that file.
* **Size** (``OutputRules.size``, :mod:`.outsize`): by default the model's scale; or a factor
  (1x-8x, e.g. 2 or 1.5) or a target width or height (aspect kept, 1x-8x of the input), reached by
  the model's own scale and a final Lanczos resample of its output (antialiased when shrinking;
  above the model's scale the output is resampled up, the model never runs twice). ``{scale}`` in
  the name is the output's scale (``cat_x2``); the format's size limits apply to the final size.
* **Format**: the chosen one, or by default ("same") the input's *decoded* format, read from the
  file header at plan time (``photo.png`` that is really a JPEG gives ``.jpg``): PNG, JPEG (also
  Pillow's MPO), WebP and TIFF stay as they are, anything else (BMP, unknown) becomes PNG.
* **Collisions** (``OutputRules.existing``): by default (``rename``) a name taken on disk, by an
  input or by another file of the run gets the first free ``-1``, ``-2``... name, so nothing is
  lost and nothing is skipped silently; ``skip`` keeps an existing output (status ``skipped``);
  ``overwrite`` replaces it. Inputs are never written (a planned output that would replace an
  input fails under ``overwrite`` and is renamed otherwise), and two inputs never get the same name.
* **Models**: ``auto`` (the default) upscales inputs decoded from JPEG, lossy WebP, HEIC or AVIF, and lossless
  files whose pixels carry JPEG traces (:mod:`trainer.jpegtrace`), with ``photo_x4`` and everything
  else with ``srgan_x4``; without ``photo_x4`` it uses the default model for every file and says
  so once (:mod:`.models`). A model the user picks is used for every file.
* **Planning before work**: every output name is decided before any file is upscaled, as a pure
  function of the inputs (their headers, and under ``auto`` a lossless file's centre pixels), the
  rules, the models and the output folder's state at the start, so the work can be split afterwards
  without two workers choosing the same name:
  ``srgan-upscale`` under ``torchrun`` plans on every rank, then each rank does its share of the
  files (:mod:`.shard`: files ``r, r+N, ...``, one device per rank, one summary). The app plans
  each queued item when it starts with one shared :class:`Planner`, which gives the same names as
  planning the queue at once (its own results are the only change to the output folder meanwhile).
* **Failures**: a file that cannot be read, upscaled or written is reported (``failed`` and the
  reason) and the batch goes on; outputs are written atomically (``trainer.imageio.save_image``).
  So are a symlink loop, a (sub-)folder that cannot be read and a folder input without images
  (:attr:`Source.error`), an output over its format's size limit (JPEG 65535 px, WebP 16383 px:
  refused at plan time, from the header), an animated input for a format that cannot animate, and
  a model output with NaN/inf (never written as black). The output folder is never scanned.
* **Animations**: an animated GIF/APNG/WebP is upscaled frame by frame (``FileProgress`` counts
  frames) into the same kind of animation (``trainer.imageio.animation``); a still GIF becomes PNG.
* **Leftovers**: a run first removes the hidden temporary files a killed run left in its output
  folders (only ``trainer.atomic``'s pattern; see :func:`trainer.pipeline.run.clean_leftovers`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The events are imported eagerly (plain dataclasses); everything else on first use, so the desktop
# app can import the event types at start-up without Pillow and numpy (see DESIGN.md: lazy imports).
from trainer.pipeline.events import FileDone, FileProgress, FileStarted, PipelineEvent

_LAZY = {
    "EngineCache": "engines", "EngineSettings": "engines",
    "SAME": "formats", "Sniffed": "formats", "output_format": "formats", "sniff": "formats",
    "AUTO": "models", "ModelPicker": "models", "model_label": "models", "pick_models": "models",
    "EXISTING": "plan", "OutputRules": "plan", "PlannedFile": "plan", "Planner": "plan", "plan_files": "plan",
    "OutputSize": "outsize", "OutputSizeError": "outsize",
    "FileOutcome": "run", "fit_output": "run", "process_file": "run", "run_plan": "run", "upscale_file": "run",
    "Source": "scan", "in_folder": "scan", "scan_inputs": "scan",
    "Shard": "shard", "ShardResult": "shard", "agree": "shard", "merge": "shard", "run_shard": "shard", "take": "shard",
}

if TYPE_CHECKING:
    from trainer.pipeline.engines import EngineCache, EngineSettings
    from trainer.pipeline.formats import SAME, Sniffed, output_format, sniff
    from trainer.pipeline.models import AUTO, ModelPicker, model_label, pick_models
    from trainer.pipeline.outsize import OutputSize, OutputSizeError
    from trainer.pipeline.plan import EXISTING, OutputRules, PlannedFile, Planner, plan_files
    from trainer.pipeline.run import FileOutcome, fit_output, process_file, run_plan, upscale_file
    from trainer.pipeline.scan import Source, in_folder, scan_inputs
    from trainer.pipeline.shard import Shard, ShardResult, agree, merge, run_shard, take


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trainer.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"trainer.pipeline.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["FileDone", "FileProgress", "FileStarted", "PipelineEvent", *_LAZY]
