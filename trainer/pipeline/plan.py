"""Planning: the model, the format and the output path of every file, before any pixel is decoded.

:class:`Planner` names outputs one source after the other and reserves each name for its source, so
two inputs never get the same output; :func:`plan_files` plans a whole list at once. The result is a
pure function of the sources (their headers), the rules, the models' scales and the output
folder's state when planning starts; nothing is written. The collision rules are in
:mod:`trainer.pipeline`'s docstring (``rename``, ``skip``, ``overwrite``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from trainer.imageio.files import folder_reason
from trainer.naming import DEFAULT_TEMPLATE, render_name, validate_template
from trainer.pipeline.formats import ANIMATED_FORMATS, SAME, Sniffed, output_format, size_problem, sniff
from trainer.pipeline.models import ModelPicker, model_label
from trainer.pipeline.outsize import OutputSize, OutputSizeError
from trainer.pipeline.scan import Source

Existing = Literal["rename", "skip", "overwrite"]
EXISTING: tuple[str, ...] = ("rename", "skip", "overwrite")
Action = Literal["write", "skip", "fail"]


@dataclass(frozen=True)
class OutputRules:
    """Where and how results are written.

    ``template``: naming template (``trainer.naming``); ``format``: an output format or ``"same"``
    (the input's decoded format, PNG when it cannot be written); ``quality``: JPEG/WebP quality;
    ``existing``: what to do when the name is taken on disk (``rename``: the next free ``-1``,
    ``-2``... name; ``skip``; ``overwrite``); ``size``: the output size (default: the model's
    scale; :mod:`trainer.pipeline.outsize`). Raises ``TemplateError``/``ValueError`` when unusable.
    """

    out_dir: Path
    template: str = DEFAULT_TEMPLATE
    format: str = SAME
    quality: int = 95
    existing: Existing = "rename"
    size: OutputSize = OutputSize()

    def __post_init__(self) -> None:
        if not isinstance(self.size, OutputSize):
            raise ValueError(f"size must be an OutputSize, got {self.size!r}")
        validate_template(self.template)
        output_format(Sniffed(None), self.format)  # raises on an unknown format
        if self.existing not in EXISTING:
            raise ValueError(f"existing must be one of {', '.join(EXISTING)}, got {self.existing!r}")
        if not 1 <= int(self.quality) <= 100:
            raise ValueError(f"quality must be between 1 and 100, got {self.quality}")


@dataclass(frozen=True)
class PlannedFile:
    """One file of the plan: ``action`` ``write`` (to ``output``), ``skip`` (``output`` exists) or
    ``fail`` (``reason`` says why; ``output`` is the refused path). ``model`` is the model argument
    (zoo name or file) and ``label`` its short name; ``overwrite`` lets the write replace a file.
    ``scale`` is the model's scale; ``size`` the output size asked for and ``out_size`` the (width,
    height) it gives for the header's size (None when the header says none: the run decides)."""

    source: Source
    sniffed: Sniffed
    model: str
    label: str
    scale: int
    format: str
    quality: int
    output: Path
    action: Action
    reason: str = ""
    overwrite: bool = False
    size: OutputSize = OutputSize()
    out_size: tuple[int, int] | None = None


def _key(path: Path) -> str:
    """Identity of a path for collisions: resolved, case-folded (a case-insensitive file system
    would make ``A.png`` and ``a.png`` one file; on others this costs at most a ``-1``)."""
    try:
        return str(Path(path).resolve()).casefold()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop (Python < 3.13)
        return os.path.abspath(path).casefold()


class Planner:
    """Plans sources one by one under ``rules``; names given out stay reserved for their source.

    ``protect``: files that must never be written (all inputs of the run; :meth:`protect` adds
    more, e.g. files queued later). Re-planning a source that was planned before may give it its
    own reserved name again (a retried file gets the name it would have had). Thread-safe.
    """

    def __init__(self, rules: OutputRules, protect: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.rules = rules
        self._lock = threading.Lock()
        self._seen: set[Path] = set()
        self._protected: set[str] = set()
        self._reserved: dict[str, str] = {}  # output key -> key of the source it was given to
        self.protect(protect)

    def protect(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Never write onto these files (only paths not seen before are resolved)."""
        with self._lock:
            for p in paths:
                path = Path(p)
                if path not in self._seen:
                    self._seen.add(path)
                    self._protected.add(_key(path))

    def plan(self, source: Source, models: ModelPicker, scale_of: Callable[[str], int]) -> PlannedFile:
        """Plan one source: sniff its header, pick its model and format, name its output.

        ``scale_of(model)`` gives a model's scale (loading it: a model that cannot be used raises here).
        """
        error = source.error or (folder_reason(source.path, True) if source.path.is_dir() else "")
        sniffed = Sniffed(None) if error else sniff(source.path)
        model = models.for_file(sniffed, None if error else source.path)  # a lossless file may be read
        label = model_label(model)
        scale = int(scale_of(model))
        if error:  # a folder that cannot be read or holds no image: reported, nothing reserved
            return PlannedFile(source, sniffed, model, label, scale, "png", int(self.rules.quality), source.path,
                               "fail", error)
        fmt = output_format(sniffed, self.rules.format)
        size = self.rules.size
        base = render_name(self.rules.template, source.path, scale=size.scale_label(sniffed.size, scale), model=label)
        folder = Path(self.rules.out_dir).expanduser() / source.subdir
        try:  # the final size (after the output-size resample) is what the format must hold
            out_size = size.target(*sniffed.size, scale) if sniffed.size else None
            too_large = size_problem(fmt, *out_size) if out_size else ""
        except OutputSizeError as exc:  # a target width/height outside 1x-8x of this image
            out_size, too_large = None, str(exc)
        if sniffed.frames > 1 and fmt not in ANIMATED_FORMATS:
            too_large = (f"animated {sniffed.format} ({sniffed.frames} frames): {fmt.upper()} cannot store an "
                         "animation; choose PNG or WebP (--format png or --format webp), or the same format")
        if too_large:  # known from the header: refused before minutes of upscaling
            return PlannedFile(source, sniffed, model, label, scale, fmt, int(self.rules.quality),
                               folder / f"{base}.{fmt}", "fail", too_large, size=size, out_size=out_size)
        with self._lock:
            output, action, reason = self._name(folder, base, fmt, _key(source.path))
        return PlannedFile(source, sniffed, model, label, scale, fmt, int(self.rules.quality), output, action,
                           reason, overwrite=action == "write" and self.rules.existing == "overwrite",
                           size=size, out_size=out_size)

    def _name(self, folder: Path, base: str, fmt: str, me: str) -> tuple[Path, Action, str]:
        """(path, action, reason) under the collision rule; reserves the path for ``me``."""

        def other_owner(key: str) -> bool:
            owner = self._reserved.get(key)
            return owner is not None and owner != me

        first = folder / f"{base}.{fmt}"
        key = _key(first)
        policy = self.rules.existing
        if not other_owner(key):
            is_input = key in self._protected or key == me
            if policy == "overwrite":
                if is_input:
                    return first, "fail", f"refusing to overwrite an input file ({first})"
                self._reserved[key] = me
                return first, "write", ""
            if policy == "skip" and not is_input and os.path.lexists(first):
                self._reserved[key] = me
                return first, "skip", f"{first} exists"
        candidate, n = first, 0
        while other_owner(key) or key in self._protected or key == me or os.path.lexists(candidate):
            n += 1
            candidate = folder / f"{base}-{n}.{fmt}"
            key = _key(candidate)
        self._reserved[key] = me
        return candidate, "write", ""


def plan_files(
    sources: Sequence[Source],
    rules: OutputRules,
    models: ModelPicker,
    scale_of: Callable[[str], int],
    *,
    protect: Iterable[str | os.PathLike[str]] | None = None,
) -> list[PlannedFile]:
    """Plan every source in order (``protect`` defaults to the sources themselves)."""
    planner = Planner(rules, [s.path for s in sources] if protect is None else protect)
    scales: dict[str, int] = {}

    def scale(model: str) -> int:  # once per model, not once per file (it may read the model file)
        if model not in scales:
            scales[model] = int(scale_of(model))
        return scales[model]

    return [planner.plan(s, models, scale) for s in sources]
