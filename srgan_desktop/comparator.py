"""The comparator view: draws a :class:`ComparisonState` and turns mouse input into state changes.

Split mode: the left layer left of a draggable divider, the right layer right of it. Side-by-side
mode: one pane per layer with shared zoom and pan. Only the visible part of a layer is drawn, from
the pyramid level closest to the screen resolution (a zoomed-out 16-megapixel result draws from a
small level; a zoomed-in one draws only the few source pixels on screen), so large results stay
smooth. Enlarged pixels are drawn as blocks (nearest), so at 400 % pixels are visible.
"""

from __future__ import annotations

import math

import numpy as np

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPainterPath, QPalette, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from srgan_desktop.qimage import array_to_qimage
from srgan_desktop.state.comparison_state import ZOOM_STEP, ComparisonState

DIVIDER_GRAB = 8  # px either side of the divider that grab it
LOUPE_SIZE = 150
LOUPE_MAGNIFY = 4.0


class ComparatorView(QWidget):
    """Draws the comparison; all state lives in ``self.state``."""

    def __init__(self, state: ComparisonState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.placeholder = "Drop images or folders anywhere on this window"
        self._legend_image: QImage | None = None  # the error map's colour scale, built once
        self.legend_rects: list[QRectF] = []  # where the last paint put error-map legends (tests)
        self._images: dict[str, list[QImage]] = {}
        self._drag: str | None = None  # "divider" | "pan"
        self._last = QPointF()
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 200)
        state.layers_changed.connect(self._rebuild_images)
        state.changed.connect(self.update)
        self._rebuild_images()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def _rebuild_images(self) -> None:
        # Zero-copy QImages over the pyramid arrays (the Layer objects keep the arrays alive).
        self._images = {
            key: [array_to_qimage(level, copy=False) for level in layer.levels] for key, layer in self.state.layers.items()
        }
        self.update()

    # -- geometry helpers ----------------------------------------------------------------------
    def pane_rects(self) -> list[tuple[str | None, QRectF]]:
        s = self.state
        if s.mode == "side":
            keys = s.side_keys()
            cols, rows = s.grid()
            pw, ph = self.width() / cols, self.height() / rows
            return [(k, QRectF((i % cols) * pw, (i // cols) * ph, pw, ph)) for i, k in enumerate(keys)]
        return [(None, QRectF(0, 0, self.width(), self.height()))]

    def divider_x(self) -> float:
        return self.state.split * self.width()

    def _pane_at(self, pos: QPointF) -> QRectF:
        for _key, rect in self.pane_rects():
            if rect.contains(pos):
                return rect
        return self.pane_rects()[-1][1]

    def _local(self, pos: QPointF) -> tuple[float, float]:
        rect = self._pane_at(pos)
        return pos.x() - rect.x(), pos.y() - rect.y()

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base).darker(115))
        s = self.state
        if not s.layers:
            self._draw_placeholder(p)
            return
        self.legend_rects = []
        if s.mode == "side":
            for key, rect in self.pane_rects():
                self._draw_layer(p, key, rect, rect)
                self._label(p, s.layers[key].title, rect.topLeft() + QPointF(8, 8))
                if key.startswith("error"):
                    self._draw_legend(p, rect.bottomLeft() + QPointF(8, -8))
                p.setPen(QPen(self.palette().color(QPalette.ColorRole.Window), 2))
                p.drawLine(rect.topRight(), rect.bottomRight())
                p.drawLine(rect.bottomLeft(), rect.bottomRight())
        elif s.solo is not None:
            full = QRectF(self.rect())
            key = s.shown_key()
            self._draw_layer(p, key, full, full)
            self._label(p, s.layers[key].title + "   (flick: Space)", QPointF(8, 8))
            if key.startswith("error"):
                self._draw_legend(p, QPointF(8, self.height() - 8))
        else:
            full = QRectF(self.rect())
            x = self.divider_x()
            self._draw_layer(p, s.left, full, QRectF(0, 0, x, self.height()))
            self._draw_layer(p, s.right, full, QRectF(x, 0, self.width() - x, self.height()))
            self._draw_divider(p, x)
            self._label(p, "◀ " + s.layers[s.left].title, QPointF(8, 8))
            self._label(p, s.layers[s.right].title + " ▶", QPointF(self.width() - 8, 8), right=True)
            if s.left.startswith("error") or s.right.startswith("error"):
                self._draw_legend(p, QPointF(8 if s.left.startswith("error") else self.width() / 2 + 8, self.height() - 8))
        self._label(p, f"{s.zoom_percent:.0f} %", QPointF(self.width() - 8, self.height() - 30), right=True)
        if s.loupe and s.cursor is not None:
            self._draw_loupe(p)

    def _draw_layer(self, p: QPainter, key: str, pane: QRectF, clip: QRectF, zoom: float | None = None,
                    center: tuple[float, float] | None = None) -> None:
        """Draw the visible part of layer ``key`` into ``pane`` (clipped to ``clip``)."""
        layer = self.state.layers.get(key)
        if layer is None or clip.width() <= 0:
            return
        zoom = self.state.zoom if zoom is None else zoom
        cx, cy = self.state.center if center is None else center
        # Visible canvas rectangle of the clip area.
        x0 = cx + (clip.left() - pane.center().x()) / zoom
        y0 = cy + (clip.top() - pane.center().y()) / zoom
        x1 = cx + (clip.right() - pane.center().x()) / zoom
        y1 = cy + (clip.bottom() - pane.center().y()) / zoom
        cw, ch = layer.canvas_size
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(cw), x1), min(float(ch), y1)
        if x1 <= x0 or y1 <= y0:
            return
        screen_per_px = zoom * layer.factor
        level = 0 if screen_per_px >= 1 else min(len(layer.levels) - 1, int(math.floor(math.log2(1 / screen_per_px))))
        img = self._images[key][level]
        div = layer.factor * (2**level)  # canvas pixels per level pixel
        # Snap the source to whole level pixels so enlarged pixels are whole blocks.
        sx0, sy0 = math.floor(x0 / div), math.floor(y0 / div)
        sx1, sy1 = min(img.width(), math.ceil(x1 / div)), min(img.height(), math.ceil(y1 / div))
        source = QRectF(sx0, sy0, sx1 - sx0, sy1 - sy0)
        tx = pane.center().x() + (sx0 * div - cx) * zoom
        ty = pane.center().y() + (sy0 * div - cy) * zoom
        target = QRectF(tx, ty, (sx1 - sx0) * div * zoom, (sy1 - sy0) * div * zoom)
        p.save()
        p.setClipRect(clip, Qt.ClipOperation.IntersectClip)  # keeps a loupe's round clip
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom * div < 1.0 and not layer.nearest)
        p.drawImage(target, img, source)
        p.restore()

    def _draw_legend(self, p: QPainter, bottom_left: QPointF) -> None:
        """The error map's colour scale: black = no error, brightest = |ΔY| of HEATMAP_VMAX or more."""
        from trainer.app.analysis import HEATMAP_VMAX
        from trainer.app.layers import colormap_lut

        if self._legend_image is None:
            lut = np.ascontiguousarray(np.repeat(colormap_lut()[None, :, :], 8, axis=0))
            self._legend_image = array_to_qimage(lut)
        p.save()
        fm = p.fontMetrics()
        bar_w, bar_h = 160.0, 10.0
        left, right = "0", f"≥ {HEATMAP_VMAX:.0f}"
        caption = "|ΔY| vs HR (grey levels)"
        h = bar_h + fm.height() * 2 + 10
        box = QRectF(bottom_left.x(), bottom_left.y() - h, bar_w + 16, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(QRectF(box.x() + 8, box.y() + 3, bar_w, fm.height()), Qt.AlignmentFlag.AlignLeft, caption)
        bar = QRectF(box.x() + 8, box.y() + 5 + fm.height(), bar_w, bar_h)
        p.drawImage(bar, self._legend_image)
        ticks = QRectF(bar.x(), bar.bottom() + 1, bar_w, fm.height())
        p.drawText(ticks, Qt.AlignmentFlag.AlignLeft, left)
        p.drawText(ticks, Qt.AlignmentFlag.AlignRight, right)
        p.restore()
        self.legend_rects.append(box)

    def _draw_divider(self, p: QPainter, x: float) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(0, 0, 0, 140), 3))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setPen(QPen(QColor(255, 255, 255, 230), 1))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        handle = QRectF(x - 9, self.height() / 2 - 18, 18, 36)
        p.setBrush(QColor(255, 255, 255, 230))
        p.setPen(QPen(QColor(0, 0, 0, 160), 1))
        p.drawRoundedRect(handle, 5, 5)
        p.restore()

    def _label(self, p: QPainter, text: str, at: QPointF, right: bool = False) -> None:
        p.save()
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        p.setFont(font)
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        rect = QRectF(at.x() - w if right else at.x(), at.y(), w, h)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    def _draw_placeholder(self, p: QPainter) -> None:
        p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        rect = QRectF(self.rect()).adjusted(40, 40, -40, -40)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)

    def _draw_loupe(self, p: QPainter) -> None:
        """Magnified view around the cursor on every layer at once: one circle per pane side by
        side; a row of panels (one per layer) next to the cursor in split mode."""
        s = self.state
        zoom = max(2.0, s.zoom * LOUPE_MAGNIFY)
        if s.mode == "side":
            for key, rect in self.pane_rects():
                vx, vy = s.to_view(*s.cursor)
                centre = QPointF(rect.x() + vx, rect.y() + vy)
                box = QRectF(centre.x() - LOUPE_SIZE / 2, centre.y() - LOUPE_SIZE / 2, LOUPE_SIZE, LOUPE_SIZE)
                self._loupe_panel(p, key, box, zoom, circle=True, clip=rect)
            return
        keys = s.keys()
        vx, vy = s.to_view(*s.cursor)
        size = min(LOUPE_SIZE, (self.width() - 40) / max(1, len(keys)))
        total = size * len(keys)
        x = vx + 24 if vx + 24 + total < self.width() else max(0.0, vx - 24 - total)
        y = vy + 24 if vy + 24 + size < self.height() else max(0.0, vy - 24 - size)
        for i, key in enumerate(keys):
            box = QRectF(x + i * size, y, size - 4, size - 4)
            self._loupe_panel(p, key, box, zoom, circle=False, clip=QRectF(self.rect()))
            self._label(p, key.upper(), box.topLeft() + QPointF(4, 4))

    def _loupe_panel(self, p: QPainter, key: str, box: QRectF, zoom: float, circle: bool, clip: QRectF) -> None:
        p.save()
        p.setClipRect(clip)
        path = QPainterPath()
        if circle:
            path.addEllipse(box)
        else:
            path.addRect(box)
        p.setClipPath(path, Qt.ClipOperation.IntersectClip)
        p.fillRect(box, QColor(30, 30, 30))
        self._draw_layer(p, key, box, box, zoom=zoom, center=self.state.cursor)
        p.restore()
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(255, 255, 255, 220), 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(box) if circle else p.drawRect(box)
        p.restore()

    # -- input ---------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        self.state.pixel_ratio = self.devicePixelRatioF()
        self.state.set_view_size(self.width(), self.height())
        super().resizeEvent(event)

    def _near_divider(self, pos: QPointF) -> bool:
        s = self.state
        return s.mode == "split" and s.solo is None and abs(pos.x() - self.divider_x()) <= DIVIDER_GRAB

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or not self.state.layers:
            return super().mousePressEvent(event)
        self._drag = "divider" if self._near_divider(event.position()) else "pan"
        self._last = event.position()
        if self._drag == "pan":
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._drag == "divider":
            self.state.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            delta = pos - self._last
            self.state.pan_by(delta.x(), delta.y())
        else:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_divider(pos) else Qt.CursorShape.OpenHandCursor)
        self._last = pos
        if self.state.layers:
            self.state.set_cursor(self.state.to_canvas(*self._local(pos)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Double click: fit, or 1:1 around the clicked point when already fitted."""
        if self.state.fitted:
            self.state.actual_size(self._local(event.position()))
        else:
            self.state.fit()

    def leaveEvent(self, _event) -> None:  # noqa: N802
        self.state.set_cursor(None)

    def keyPressEvent(self, event) -> None:  # noqa: N802, ANN001
        """Arrow keys pan a tenth of the pane (Shift: a whole pane); the pan stays clamped."""
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        step = steps.get(Qt.Key(event.key()))
        if step is None or not self.state.layers:
            return super().keyPressEvent(event)
        amount = 1.0 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0.1
        self.state.pan_step(step[0] * amount, step[1] * amount)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if not self.state.layers:
            return
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.state.zoom_by(ZOOM_STEP**notches, self._local(event.position()))
        event.accept()
