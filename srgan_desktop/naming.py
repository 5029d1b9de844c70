"""Where an upscaled file goes: output folder, kept folder tree, naming template (no Qt, no torch).

``{stem}_x{scale}`` turns ``photos/cat.jpg`` into ``<output>/cat_x4.png``. A file found inside a
dropped folder keeps its place in that folder's tree: ``<output>/<folder>/<sub>/cat_x4.png``.
Fields: ``{stem}`` (file name without suffix), ``{scale}``, ``{model}``, ``{ext}`` (input suffix
without the dot), ``{date}`` (YYYY-MM-DD). The result is never an input file and never an existing
file: a free name is found by appending ``-1``, ``-2``, ...
"""

from __future__ import annotations

import datetime as _dt
import string
from pathlib import Path

FIELDS = ("stem", "scale", "model", "ext", "date")
OUTPUT_FORMATS = ("png", "jpg", "webp", "tiff")  # trainer.imageio.OUTPUT_FORMATS
_SUFFIX_TO_FORMAT = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff"}


class TemplateError(ValueError):
    """The naming template cannot produce a file name (unknown field, bad syntax, empty result)."""


def validate_template(template: str) -> None:
    """Raise :class:`TemplateError` with a readable reason when ``template`` is unusable."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"naming template {template!r}: {exc}") from None
    for _literal, name, _spec, _conv in parsed:
        if name is not None and name not in FIELDS:
            shown = "{" + name + "}" if name else "{}"
            raise TemplateError(f"naming template {template!r}: unknown field {shown}; use " + ", ".join("{" + f + "}" for f in FIELDS))
    if not render_name(template, Path("x.png"), scale=4, model="m").strip(" ."):
        raise TemplateError(f"naming template {template!r} gives an empty file name")


def render_name(template: str, source: Path, *, scale: int, model: str) -> str:
    """The template filled for ``source`` (no suffix; path separators replaced)."""
    name = template.format(
        stem=source.stem, scale=scale, model=model or "bicubic", ext=source.suffix.lstrip("."),
        date=_dt.date.today().isoformat(),
    )
    for sep in ("/", "\\", "\0"):
        name = name.replace(sep, "_")
    return name.strip()


def output_format(source: Path, chosen: str) -> str:
    """The format to write: ``chosen``, or for ``"same"`` the input's own format when writable (else PNG)."""
    if chosen != "same":
        if chosen not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {OUTPUT_FORMATS} or 'same', got {chosen!r}")
        return chosen
    return _SUFFIX_TO_FORMAT.get(source.suffix.lower(), "png")


def output_path(
    source: Path,
    root: Path | None,
    *,
    out_dir: Path,
    template: str,
    scale: int,
    model: str,
    fmt: str,
    protect: tuple[Path, ...] = (),
) -> Path:
    """A free output path for ``source``.

    ``root`` is the dropped folder ``source`` was found in (None for a file dropped by itself): its
    name and the sub-folders below it are kept under ``out_dir``.
    """
    validate_template(template)
    fmt = output_format(source, fmt)
    folder = Path(out_dir)
    if root is not None:
        try:
            rel = source.parent.resolve().relative_to(Path(root).resolve())
        except ValueError:
            rel = Path()
        folder = folder / Path(root).name / rel
    base = render_name(template, source, scale=scale, model=model)
    suffix = "." + fmt
    taken = {_key(p) for p in (source, *protect)}
    candidate = folder / (base + suffix)
    n = 0
    while candidate.exists() or _key(candidate) in taken:
        n += 1
        candidate = folder / f"{base}-{n}{suffix}"
    return candidate


def _key(path: Path) -> str:
    try:
        return str(Path(path).resolve()).casefold()
    except OSError:
        return str(path).casefold()
