"""Models from a run for the model picker: names, installing exports, "save model now" (no Qt).

A run's exported model files stay in the run folder; a copy is installed as a *user model*
(``trainer.zoo``) so the model picker lists it at once. Names: the run's name for the final model,
``<run>_<phase>`` for an earlier phase's, ``<run>_step<N>`` for a "save model now" snapshot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def clean_name(text: str) -> str:
    """A valid user-model name made from ``text`` (letters, digits, ``._-``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).lstrip("._-")
    return cleaned or "run"


def model_name(run_dir: str | Path, config: Any, phase: str) -> str:
    """User-model name of the model exported at the end of ``phase``."""
    run = clean_name(Path(run_dir).name)
    return run if phase == config.phases[-1].name else f"{run}_{clean_name(phase)}"


def name_for_file(run_dir: str | Path, config: Any, path: str | Path) -> str:
    """The user-model name of a model file written by a run (an export or a snapshot)."""
    stem = Path(path).stem
    if stem.startswith("snapshot_"):
        return f"{clean_name(Path(run_dir).name)}_{stem[len('snapshot_'):]}"
    from trainer.modelfile import read_metadata

    phase = read_metadata(path).get("phase") or config.phases[-1].name
    return model_name(run_dir, config, phase)


def install_export(path: str | Path, name: str) -> Any:
    """Install an exported model file as user model ``name`` (replacing an older export of the run)."""
    from trainer import zoo

    return zoo.install_model(path, name, overwrite=True)


def save_snapshot(checkpoint: str | Path, run_dir: str | Path) -> tuple[Path, str]:
    """Export a running training's checkpoint as ``RUN/snapshot_step<N>.safetensors`` (with its
    model card; :func:`trainer.train.export.export_checkpoint`, which reads the run's config from
    the checkpoint) and install it as user model ``<run>_step<N>``; returns (file, model name)."""
    from trainer.train.export import export_checkpoint

    done = export_checkpoint(checkpoint, Path(run_dir) / "snapshot_step{step}.safetensors",
                             device="(snapshot of a running training)")
    name = f"{clean_name(Path(run_dir).name)}_step{done.step}"
    install_export(done.path, name)
    return done.path, name
