"""Where an upscaled file goes: output folder, kept folder tree, naming template (no Qt, no torch).

``{stem}_x{scale}`` turns ``photos/cat.jpg`` into ``<output>/cat_x4.png``. A file found inside a
dropped folder keeps its place in that folder's tree: ``<output>/<folder>/<sub>/cat_x4.png``.
Fields: ``{stem}`` (file name without suffix), ``{scale}``, ``{model}``, ``{ext}`` (input suffix
without the dot), ``{date}`` (YYYY-MM-DD). The result is never an input file and never an existing
file: a free name is found by appending ``-1``, ``-2``, ...
"""

from __future__ import annotations

from pathlib import Path

from trainer.naming import FIELDS, TemplateError, render_name, validate_template

__all__ = ["FIELDS", "OUTPUT_FORMATS", "TemplateError", "output_format", "output_path", "render_name", "validate_template"]

OUTPUT_FORMATS = ("png", "jpg", "webp", "tiff")  # trainer.imageio.OUTPUT_FORMATS
_SUFFIX_TO_FORMAT = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff"}


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
