"""Output-file naming templates shared by ``srgan-upscale`` and the desktop app (no Qt, no torch).

``{stem}_x{scale}`` turns ``cat.jpg`` into ``cat_x4``. Fields: ``{stem}`` (file name without suffix),
``{scale}`` (the *output's* scale: the model's, or the chosen output size's, e.g. ``cat_x2`` or
``cat_x1.5``; see :mod:`trainer.pipeline.outsize`), ``{model}``, ``{ext}`` (input suffix without
the dot), ``{date}`` (YYYY-MM-DD).
"""

from __future__ import annotations

import datetime as _dt
import string
from pathlib import Path

FIELDS = ("stem", "scale", "model", "ext", "date")
DEFAULT_TEMPLATE = "{stem}_x{scale}"


class TemplateError(ValueError):
    """The naming template cannot produce a file name (unknown field, bad syntax, empty result)."""


def validate_template(template: str) -> str:
    """Return ``template``, or raise :class:`TemplateError` with a readable reason when unusable."""
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
    return template


def render_name(template: str, source: Path, *, scale: int | str, model: str) -> str:
    """The template filled for ``source`` (no suffix; path separators replaced). ``scale``: the
    output's scale as it should read (``4``, ``"1.5"``)."""
    name = template.format(
        stem=source.stem, scale=scale, model=model or "bicubic", ext=source.suffix.lstrip("."),
        date=_dt.date.today().isoformat(),
    )
    for sep in ("/", "\\", "\0"):
        name = name.replace(sep, "_")
    return name.strip()
