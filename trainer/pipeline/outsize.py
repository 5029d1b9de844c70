"""Output size independent of the model's scale: a factor (1x-8x) or a target width or height.

Standard library only (the desktop app imports it at start-up). The model always runs once, at its
own scale; a final resample (:func:`trainer.imageio.resample.resample`: Lanczos, antialiased when
shrinking) then gives the chosen size. A factor above the model's scale resamples the model's
output up rather than running the model twice (a second pass would invent detail from its own
artefacts and cost its scale squared in time); a factor below it shrinks the model's output, which
is sharper than the input and cleaner than a smaller model would make it.

Sizes (``w`` x ``h`` the input as displayed, EXIF orientation applied):

* the model's scale (the default, :data:`MODEL_SCALE`): ``w*s`` x ``h*s``, no resample at all, so
  outputs are byte for byte what they were before output sizes existed;
* a factor ``f``: ``round(w*f)`` x ``round(h*f)`` (halves round up), at least 1 px;
* a target width ``W``: ``W`` x ``round(h*W/w)``; a target height likewise (the aspect is kept).
  The effective factor must be within 1x-8x like a chosen factor: a target smaller than the input
  would shrink it and a target over 8x would be mostly resampling, so such a file is refused with
  the reason and the rest of the batch goes on.

``{scale}`` in naming templates is the output's scale: the model's scale (``cat_x4``), a chosen
factor as written without trailing zeros (``cat_x2``, ``cat_x1.5``), and for a target width or
height the effective factor rounded to two decimals, trailing zeros dropped (1920 px from 640 px
is ``cat_x3``, from 500 px ``cat_x3.84``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_FACTOR, MAX_FACTOR = 1.0, 8.0
MODEL_SCALE = "model"
"""The :attr:`OutputSize.spec` of the default: the model's own scale."""


class OutputSizeError(ValueError):
    """An output size that cannot be used (bad value, or out of range for an image)."""


def format_scale(value: float) -> str:
    """A scale for file names and labels: ``2`` -> "2", ``1.5`` -> "1.5", ``3.8461`` -> "3.85"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


@dataclass(frozen=True)
class OutputSize:
    """What size outputs are: at most one of ``factor`` (1-8, float allowed), ``width`` or
    ``height`` (pixels, aspect kept); none of them is the model's own scale. Raises
    :class:`OutputSizeError` for a value out of range."""

    factor: float | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        given = [n for n in ("factor", "width", "height") if getattr(self, n) is not None]
        if len(given) > 1:
            raise OutputSizeError(f"choose one output size, not {' and '.join(given)}")
        if self.factor is not None:
            f = float(self.factor)
            if not (math.isfinite(f) and MIN_FACTOR <= f <= MAX_FACTOR):
                raise OutputSizeError(f"the output factor must be from {MIN_FACTOR:g} to {MAX_FACTOR:g}, got {self.factor:g}")
            object.__setattr__(self, "factor", f)
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or int(value) != value or int(value) < 1):
                raise OutputSizeError(f"the output {name} must be a whole number of pixels >= 1, got {value}")
            if value is not None:
                object.__setattr__(self, name, int(value))

    # -- text forms (settings, command line) ------------------------------------------------------
    @property
    def is_model_scale(self) -> bool:
        return self.factor is None and self.width is None and self.height is None

    @property
    def spec(self) -> str:
        """Text form that :meth:`parse` reads back: "model", "x2", "x1.5", "w1920", "h1080"."""
        if self.factor is not None:
            return f"x{self.factor:g}"
        if self.width is not None:
            return f"w{self.width}"
        if self.height is not None:
            return f"h{self.height}"
        return MODEL_SCALE

    @classmethod
    def parse(cls, text: str) -> OutputSize:
        """Read a :attr:`spec` ("model", "x2", "2", "2x", "w1920", "h1080"); raises :class:`OutputSizeError`."""
        t = str(text).strip().lower()
        if t in ("", MODEL_SCALE):
            return cls()
        try:
            if t[0] in "wh" and t[1:].isdigit():
                return cls(width=int(t[1:])) if t[0] == "w" else cls(height=int(t[1:]))
            return cls(factor=parse_factor(t))
        except OutputSizeError:
            raise
        except ValueError:
            raise OutputSizeError(f"not an output size: {text!r} (use model, x2, x1.5, w1920 or h1080)") from None

    def describe(self) -> str:
        """Words for a label: "the model's scale", "x2", "1920 px wide", "1080 px high"."""
        if self.factor is not None:
            return f"x{format_scale(self.factor)}"
        if self.width is not None:
            return f"{self.width} px wide"
        if self.height is not None:
            return f"{self.height} px high"
        return "the model's scale"

    # -- sizes ------------------------------------------------------------------------------------
    def target(self, width: int, height: int, model_scale: int) -> tuple[int, int]:
        """(width, height) of the output of a ``width`` x ``height`` input; raises
        :class:`OutputSizeError` when a target width/height is outside 1x-8x of this input."""
        if self.factor is not None:
            return max(1, _round_half_up(width * self.factor)), max(1, _round_half_up(height * self.factor))
        if self.width is not None:
            self._check_effective(self.width / width, width, height)
            return self.width, max(1, _round_half_up(height * self.width / width))
        if self.height is not None:
            self._check_effective(self.height / height, width, height)
            return max(1, _round_half_up(width * self.height / height)), self.height
        return width * int(model_scale), height * int(model_scale)

    def _check_effective(self, factor: float, width: int, height: int) -> None:
        if MIN_FACTOR - 1e-9 <= factor <= MAX_FACTOR + 1e-9:
            return
        what = self.describe()
        if factor < MIN_FACTOR:
            raise OutputSizeError(f"{what} would shrink this {width} x {height} image ({factor:.2f}x); "
                                  f"outputs are {MIN_FACTOR:g}x to {MAX_FACTOR:g}x the input")
        raise OutputSizeError(f"{what} is {factor:.1f}x this {width} x {height} image; "
                              f"outputs are {MIN_FACTOR:g}x to {MAX_FACTOR:g}x the input")

    def scale_label(self, size: tuple[int, int] | None, model_scale: int) -> str:
        """``{scale}`` of the output's name (see the module docstring). ``size``: the input's
        (width, height), None when unknown (a target then names itself: "w1920")."""
        if self.factor is not None:
            return format_scale(self.factor)
        if self.width is not None:
            return format_scale(self.width / size[0]) if size else self.spec
        if self.height is not None:
            return format_scale(self.height / size[1]) if size else self.spec
        return str(int(model_scale))


def parse_factor(text: str) -> float:
    """A factor from "2", "1.5", "x2" or "2x"; raises :class:`OutputSizeError` when not a number in 1-8."""
    t = str(text).strip().lower().removeprefix("x").removesuffix("x")
    try:
        value = float(t)
    except ValueError:
        raise OutputSizeError(f"the output factor must be a number from {MIN_FACTOR:g} to {MAX_FACTOR:g} "
                              f"(e.g. 2 or 1.5), got {text!r}") from None
    return OutputSize(factor=value).factor  # type: ignore[return-value]  # range-checked there
