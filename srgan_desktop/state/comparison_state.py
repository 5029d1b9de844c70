"""State of the comparator: layers, which two are compared, divider, zoom, pan, mode, loupe.

The view widget draws this state and turns mouse/keyboard input into calls on it; tests drive it
directly. Coordinates: the *canvas* is the super-resolved image's pixel grid; the *view* is the
widget (or, side by side, one pane of it), in logical pixels. ``zoom`` is view pixels per canvas
pixel; ``center`` is the canvas point shown at the middle of a pane.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal

from trainer.app.layers import LAYER_ORDER, Layer

ZOOM_MIN = 1.0 / 64.0
ZOOM_MAX = 64.0
ZOOM_STEP = 1.25
MODES = ("split", "side")


class ComparisonState(QObject):
    """Observable comparison state. ``changed`` (view parameters) and ``layers_changed``."""

    changed = Signal()
    layers_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.layers: dict[str, Layer] = {}
        self.left = "bicubic"
        self.right = "sr"
        self.split = 0.5  # divider position, fraction of the view width
        self.zoom = 1.0
        self.center = (0.0, 0.0)
        self.mode = "split"
        self.loupe = False
        self.solo: str | None = None  # "left"/"right": the whole view shows that side's layer (flick)
        self.fitted = True  # keep fitting on resize until the user zooms or pans
        self.view_size = (800, 600)
        self.cursor: tuple[float, float] | None = None  # canvas point under the mouse (loupe)
        self.pixel_ratio = 1.0  # device pixels per view pixel (high-DPI screens)

    # -- layers --------------------------------------------------------------------------------
    @property
    def canvas_size(self) -> tuple[int, int]:
        sizes = [layer.canvas_size for layer in self.layers.values()]
        return (max(s[0] for s in sizes), max(s[1] for s in sizes)) if sizes else (0, 0)

    def keys(self) -> list[str]:
        """Layer keys present, in number-key order."""
        return [k for k in LAYER_ORDER if k in self.layers] + [k for k in self.layers if k not in LAYER_ORDER]

    def set_layers(self, layers: dict[str, Layer]) -> None:
        """Show new layers. The chosen pair is kept when both exist (so stepping through items keeps
        comparing the same things); the view is refitted when the canvas size changes."""
        old_size = self.canvas_size
        self.layers = dict(layers)
        keys = self.keys()
        if self.left not in self.layers or self.right not in self.layers or self.left == self.right:
            self.left, self.right = self._default_pair(keys)
        if self.canvas_size != old_size or self.fitted:
            self._fit()
        self.layers_changed.emit()
        self.changed.emit()

    @staticmethod
    def _default_pair(keys: list[str]) -> tuple[str, str]:
        for pair in (("bicubic", "sr"), ("bicubic", "hr"), ("lr", "bicubic")):
            if pair[0] in keys and pair[1] in keys:
                return pair
        return (keys[0], keys[-1]) if keys else ("bicubic", "sr")

    def side_keys(self) -> list[str]:
        """Panes of the side-by-side mode: the Left and Right picks, then the ground truth (HR)
        whatever the picks are (so two models are compared next to the truth)."""
        keys = [k for k in (self.left, self.right) if k in self.layers]
        if "hr" in self.layers and "hr" not in keys:
            keys.append("hr")
        return keys

    def grid(self) -> tuple[int, int]:
        """(columns, rows) of the panes: side by side, the arrangement in which each pane shows the
        image largest (three square images in a wide view: one row; in a tall one: a 2x2 grid)."""
        n = self.panes()
        cw, ch = self.canvas_size
        if self.mode != "side" or n == 1 or cw == 0 or ch == 0:
            return (n, 1)
        w, h = self.view_size
        best = None
        for rows in range(1, n + 1):
            cols = math.ceil(n / rows)
            if (rows - 1) * cols >= n:
                continue  # a row would stay empty
            zoom = min(w / cols / cw, h / rows / ch)
            if best is None or zoom > best[0] + 1e-9:
                best = (zoom, cols, rows)
        return best[1], best[2]

    # -- choosing and flicking -----------------------------------------------------------------
    def set_left(self, key: str) -> None:
        self._require(key)
        if key == self.right:
            self.right = self.left
        self.left, self.solo = key, (None if self.solo is None else "left")
        self._refit()
        self.changed.emit()

    def set_right(self, key: str) -> None:
        self._require(key)
        if key == self.left:
            self.left = self.right
        self.right, self.solo = key, (None if self.solo is None else "right")
        self._refit()
        self.changed.emit()

    def set_pair(self, left: str, right: str) -> None:
        self._require(left)
        self._require(right)
        self.left, self.right, self.solo = left, right, None
        self._refit()
        self.changed.emit()

    def _refit(self) -> None:
        # Side by side, the picks decide the panes: a fitted view stays fitted to the new panes.
        if self.mode == "side" and self.fitted:
            self._fit()

    def swap(self) -> None:
        """Exchange the layers on the two sides of the divider."""
        self.left, self.right = self.right, self.left
        self.changed.emit()

    def flick(self) -> None:
        """Show one layer over the whole view; each call flips to the other one of the pair."""
        self.solo = "right" if self.solo == "left" else "left"
        self.changed.emit()

    def unsolo(self) -> None:
        if self.solo is not None:
            self.solo = None
            self.changed.emit()

    def shown_key(self) -> str:
        """The layer filling the view in flick mode."""
        return self.left if self.solo != "right" else self.right

    def _require(self, key: str) -> None:
        if key not in self.layers:
            raise KeyError(f"no layer {key!r}; present: {', '.join(self.keys()) or 'none'}")

    # -- divider, mode, loupe ------------------------------------------------------------------
    def set_split(self, fraction: float) -> None:
        self.split = min(1.0, max(0.0, float(fraction)))
        self.changed.emit()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode != self.mode:
            self.mode = mode
            if self.fitted:
                self._fit()
            self.changed.emit()

    def toggle_mode(self) -> None:
        self.set_mode("side" if self.mode == "split" else "split")

    def set_loupe(self, on: bool) -> None:
        self.loupe = bool(on)
        self.changed.emit()

    def set_cursor(self, point: tuple[float, float] | None) -> None:
        self.cursor = point
        if self.loupe:
            self.changed.emit()

    # -- geometry ------------------------------------------------------------------------------
    def panes(self) -> int:
        return max(1, len(self.side_keys())) if self.mode == "side" else 1

    def pane_size(self) -> tuple[float, float]:
        w, h = self.view_size
        cols, rows = self.grid()
        return w / cols, h / rows

    def set_view_size(self, width: int, height: int) -> None:
        self.view_size = (max(1, int(width)), max(1, int(height)))
        if self.fitted:
            self._fit()
        else:
            self.center = self._clamped(*self.center)
        self.changed.emit()

    def to_canvas(self, vx: float, vy: float) -> tuple[float, float]:
        """Pane-local view point -> canvas point."""
        pw, ph = self.pane_size()
        return self.center[0] + (vx - pw / 2) / self.zoom, self.center[1] + (vy - ph / 2) / self.zoom

    def to_view(self, cx: float, cy: float) -> tuple[float, float]:
        """Canvas point -> pane-local view point."""
        pw, ph = self.pane_size()
        return (cx - self.center[0]) * self.zoom + pw / 2, (cy - self.center[1]) * self.zoom + ph / 2

    def visible_rect(self) -> tuple[int, int, int, int]:
        """Canvas pixels (x0, y0, x1, y1; end exclusive) visible in a pane, clipped to the canvas."""
        pw, ph = self.pane_size()
        x0, y0 = self.to_canvas(0, 0)
        x1, y1 = self.to_canvas(pw, ph)
        cw, ch = self.canvas_size
        return (max(0, math.floor(x0)), max(0, math.floor(y0)), min(cw, math.ceil(x1)), min(ch, math.ceil(y1)))

    # -- zoom and pan --------------------------------------------------------------------------
    def fit_zoom(self) -> float:
        cw, ch = self.canvas_size
        if cw == 0 or ch == 0:
            return 1.0
        pw, ph = self.pane_size()
        return min(ZOOM_MAX, max(ZOOM_MIN, min(pw / cw, ph / ch)))

    def _fit(self) -> None:
        cw, ch = self.canvas_size
        self.zoom = self.fit_zoom()
        self.center = (cw / 2, ch / 2)
        self.fitted = True

    def fit(self) -> None:
        """Whole image in view (each pane, side by side)."""
        self._fit()
        self.changed.emit()

    def actual_size(self, anchor: tuple[float, float] | None = None) -> None:
        """1:1: one image pixel per *device* pixel (so also on high-DPI screens), keeping the
        canvas point at ``anchor`` fixed."""
        self.set_zoom(1.0 / self.pixel_ratio, anchor)

    @property
    def zoom_percent(self) -> float:
        """Zoom as the user reads it: 100 % = one image pixel per screen (device) pixel."""
        return self.zoom * self.pixel_ratio * 100.0

    def set_zoom(self, zoom: float, anchor: tuple[float, float] | None = None) -> None:
        """Zoom to ``zoom`` keeping the canvas point under the pane-local ``anchor`` (default: the
        pane centre) where it is."""
        pw, ph = self.pane_size()
        ax, ay = anchor if anchor is not None else (pw / 2, ph / 2)
        px, py = self.to_canvas(ax, ay)
        self.zoom = min(ZOOM_MAX, max(ZOOM_MIN, float(zoom)))
        self.center = self._clamped(px - (ax - pw / 2) / self.zoom, py - (ay - ph / 2) / self.zoom)
        self.fitted = False
        self.changed.emit()

    def zoom_by(self, factor: float, anchor: tuple[float, float] | None = None) -> None:
        """Multiply the zoom (wheel: ``ZOOM_STEP ** notches`` around the cursor)."""
        self.set_zoom(self.zoom * factor, anchor)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) view pixels (a drag)."""
        self.center = self._clamped(self.center[0] - dx / self.zoom, self.center[1] - dy / self.zoom)
        self.fitted = False
        self.changed.emit()

    def pan_step(self, sx: float, sy: float) -> None:
        """Pan by a fraction of the pane (arrow keys: ``sx``/``sy`` in panes, e.g. 0.1)."""
        pw, ph = self.pane_size()
        self.pan_by(-sx * pw, -sy * ph)

    def _clamped(self, cx: float, cy: float) -> tuple[float, float]:
        """The centre kept so that no empty band shows: an image larger than the pane stays
        edge to edge; a smaller one stays centred on that axis."""
        pw, ph = self.pane_size()
        out = []
        for c, canvas, pane in ((cx, self.canvas_size[0], pw), (cy, self.canvas_size[1], ph)):
            half = pane / self.zoom / 2
            out.append(canvas / 2 if canvas == 0 or 2 * half >= canvas else min(max(c, half), canvas - half))
        return out[0], out[1]
