"""Tile planning and feathered blending for tiled super-resolution.

Geometry, per axis, in input (low-resolution) pixels:

* A *core* is the part of the input a tile is responsible for (at most ``tile`` pixels); cores of
  neighbours overlap by ``overlap`` pixels and together cover the axis.
* A *window* is what the model actually sees: the core plus ``context`` pixels on each side so that
  the core's output does not depend on where the window ends. Windows are shifted inwards at the
  image border instead of being padded: the model then zero-pads exactly where a whole-image forward
  does, so border tiles reproduce the whole-image result, and every window has the same size
  (tiles can be batched).

Blending: in each overlap, the left/top tile's weight ramps linearly from 1 to 0 and the other's from
0 to 1. Cores never overlap three deep, so the weights are a partition of unity:
no weight buffer is needed and a finished row band can be written out as soon as the next tile row
has added its share (:class:`RowBlender`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Span:
    """One tile along one axis: ``core`` [start, end) and ``window`` [start, end), input pixels."""

    start: int
    end: int
    win_start: int
    win_end: int


def plan_axis(length: int, tile: int, overlap: int, context: int) -> list[Span]:
    """Split ``[0, length)`` into cores of at most ``tile`` pixels overlapping by ``overlap``.

    The axis is cut into ``n`` near-equal segments (the fewest for which a segment plus the overlap
    fits in ``tile``) and each cut is widened into an overlap of exactly ``overlap`` pixels.
    ``overlap`` is clamped to ``tile // 4`` so overlaps never meet (no pixel is in three cores).
    ``tile <= 0`` or ``tile >= length`` gives one span covering everything (no context needed).
    """
    if length <= 0:
        raise ValueError(f"axis length must be positive, got {length}")
    if tile <= 0 or tile >= length:
        return [Span(0, length, 0, length)]
    overlap = max(0, min(overlap, tile // 4))
    n = max(2, math.ceil(length / (tile - overlap)))
    cuts = [round(k * length / n) for k in range(n + 1)]
    before, after = overlap // 2, overlap - overlap // 2
    cores = [(cuts[i] - before if i > 0 else 0, cuts[i + 1] + after if i + 1 < n else length) for i in range(n)]
    # One window size for all (batchable): the largest core plus context; shifted inwards at the
    # borders, never padded.
    win = min(length, max(e - s for s, e in cores) + 2 * context)
    spans = []
    for start, end in cores:
        centre_start = start - (win - (end - start)) // 2
        ws = min(max(centre_start, 0), length - win)
        spans.append(Span(start, end, ws, ws + win))
    return spans


def ramp_weights(spans: list[Span], index: int, scale: int) -> np.ndarray:
    """Blend weights (float32, length ``scale * core``) of span ``index`` in output pixels.

    Linear ramps over the overlaps with the previous and next span; they sum to one with the
    neighbour's ramp at every output pixel.
    """
    span = spans[index]
    n = (span.end - span.start) * scale
    w = np.ones(n, dtype=np.float32)
    if index > 0:
        m = (spans[index - 1].end - span.start) * scale
        if m > 0:
            w[:m] = (np.arange(m, dtype=np.float32) + 0.5) / m
    if index + 1 < len(spans):
        m = (span.end - spans[index + 1].start) * scale
        if m > 0:
            w[n - m :] = 1.0 - (np.arange(m, dtype=np.float32) + 0.5) / m
    return w


@dataclass(frozen=True)
class TilePlan:
    """All tiles of one image: rows of spans x columns of spans."""

    rows: list[Span]
    cols: list[Span]
    tile: int

    @property
    def total(self) -> int:
        return len(self.rows) * len(self.cols)

    @property
    def window(self) -> tuple[int, int]:
        """(height, width) of every window (all equal, so tiles can be batched)."""
        return self.rows[0].win_end - self.rows[0].win_start, self.cols[0].win_end - self.cols[0].win_start


def plan_tiles(height: int, width: int, tile: int, overlap: int, context: int) -> TilePlan:
    """Plan an image of ``height`` x ``width``; ``tile <= 0`` means one whole-image tile."""
    return TilePlan(
        plan_axis(height, tile, overlap, context), plan_axis(width, tile, overlap, context), max(tile, 0)
    )


Sink = Callable[[int, int, np.ndarray], None]


class RowBlender:
    """Accumulates tile outputs one tile row at a time and emits finished output rows.

    Memory is one tile row of output (float32) plus the overlap carried into the next row, never the
    whole image: a 2000x2000 -> 8000x8000 upscale holds ~100 MB here instead of 1 GB.

    Usage: for each tile row ``i`` (in order) call :meth:`add` for each of its tiles, then
    :meth:`finish_row`; ``sink(y0, y1, band)`` receives output rows [y0, y1) as float32 HxWxC
    (a view of the row buffer that is not read again: the sink may overwrite it).
    """

    def __init__(self, plan: TilePlan, scale: int, channels: int, sink: Sink) -> None:
        self.plan, self.scale, self.channels, self.sink = plan, scale, channels, sink
        self.out_width = plan.cols[-1].end * scale
        self._col_w = [ramp_weights(plan.cols, j, scale) for j in range(len(plan.cols))]
        self._carry: np.ndarray | None = None
        self._row = -1
        self._strip: np.ndarray | None = None

    def start_row(self, i: int) -> None:
        span = self.plan.rows[i]
        self._row = i
        self._strip = np.zeros(((span.end - span.start) * self.scale, self.out_width, self.channels), np.float32)

    def add(self, j: int, core_out: np.ndarray) -> None:
        """Add tile (current row, column ``j``); ``core_out`` is its output for the core, HxWxC float32."""
        col = self.plan.cols[j]
        x0, x1 = col.start * self.scale, col.end * self.scale
        assert self._strip is not None and core_out.shape == (self._strip.shape[0], x1 - x0, self.channels)
        self._strip[:, x0:x1] += core_out * self._col_w[j][None, :, None]

    def finish_row(self) -> None:
        """Weight the row vertically, add the carried overlap, emit the rows no later tile touches."""
        i, strip, s = self._row, self._strip, self.scale
        assert strip is not None
        rows = self.plan.rows
        strip *= ramp_weights(rows, i, s)[:, None, None]
        if self._carry is not None:
            strip[: self._carry.shape[0]] += self._carry
        y0 = rows[i].start
        y_next = rows[i + 1].start if i + 1 < len(rows) else rows[i].end
        done = (y_next - y0) * s
        self.sink(y0 * s, y_next * s, strip[:done])
        self._carry = strip[done:].copy() if done < strip.shape[0] else None
        self._strip = None
