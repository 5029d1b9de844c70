"""The comparator widget built from its state: what it draws, divider, pan, wheel zoom, keys, loupe."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from srgan_desktop.comparator import ComparatorView
from srgan_desktop.comparator_panel import ComparatorPanel, make_view_actions
from srgan_desktop.state.comparison_state import ComparisonState
from trainer.app.layers import Layer

COLOURS = {"bicubic": (220, 30, 30), "sr": (30, 30, 220), "hr": (30, 200, 30), "error": (250, 250, 0)}


def solid(key, w=64, h=48):
    return Layer(key, key.upper(), np.full((h, w, 3), COLOURS[key], np.uint8))


def checker_lr(w=16, h=12, scale=4):
    lr = np.zeros((h, w, 3), np.uint8)
    lr[(np.indices((h, w)).sum(axis=0) % 2) == 1] = 255
    return Layer("lr", "LR", lr, factor=scale, nearest=True)


@pytest.fixture()
def view(qtbot):
    state = ComparisonState()
    w = ComparatorView(state)
    qtbot.addWidget(w)
    w.resize(400, 300)
    with qtbot.waitExposed(w):
        w.show()
    state.set_layers({"lr": checker_lr(), **{k: solid(k) for k in ("bicubic", "sr", "hr")}})
    return w


def colour_at(widget, x, y):
    c = widget.grab().toImage().pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def test_split_view_draws_left_and_right_layers(view):
    s = view.state
    assert (s.left, s.right) == ("bicubic", "sr")
    assert colour_at(view, 120, 200) == COLOURS["bicubic"]
    assert colour_at(view, 300, 200) == COLOURS["sr"]
    s.set_right("hr")
    assert colour_at(view, 300, 200) == COLOURS["hr"]
    s.swap()
    assert colour_at(view, 120, 200) == COLOURS["hr"] and colour_at(view, 300, 200) == COLOURS["bicubic"]
    s.flick()  # whole view shows the left layer
    assert colour_at(view, 300, 200) == COLOURS["hr"]
    s.flick()
    assert colour_at(view, 120, 200) == COLOURS["bicubic"]


def test_dragging_the_divider_moves_it(view, qtbot):
    s = view.state
    x = round(view.divider_x())
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(x, 150))
    qtbot.mouseMove(view, QPoint(300, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 150))
    assert s.split == pytest.approx(0.75)
    assert colour_at(view, 250, 200) == COLOURS["bicubic"]  # now left of the divider
    assert s.center == (32, 24)  # the image did not move


def test_dragging_elsewhere_pans(view, qtbot):
    s = view.state
    s.set_zoom(s.zoom * 4)  # larger than the view: there is room to pan (the pan is clamped)
    before = s.center
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    qtbot.mouseMove(view, QPoint(90, 40))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(90, 40))
    assert s.center == pytest.approx((before[0] - 30 / s.zoom, before[1] + 20 / s.zoom))
    assert s.split == 0.5


def test_wheel_zooms_around_the_cursor(view):
    s = view.state
    pos = QPointF(100, 80)
    under = s.to_canvas(pos.x(), pos.y())
    event = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    zoom = s.zoom
    QApplication.sendEvent(view, event)
    assert s.zoom == pytest.approx(zoom * 1.25**2)
    assert s.to_canvas(pos.x(), pos.y()) == pytest.approx(under)


def test_lr_pixels_are_blocks_at_400_percent(view):
    s = view.state
    s.set_pair("lr", "sr")
    s.set_split(1.0)
    s.set_zoom(4.0)  # one LR pixel = 4 canvas pixels = 16 view pixels
    img = view.grab().toImage()
    x0, y0 = s.to_view(8, 8)  # a block corner of LR pixel (2, 2) on the canvas
    values = {img.pixelColor(int(x0) + dx, int(y0) + dy).red() for dx in range(1, 15) for dy in range(1, 15)}
    assert len(values) == 1  # no smoothing inside a block
    right = img.pixelColor(int(x0) + 17, int(y0) + 2).red()
    assert right != values.pop()  # the neighbouring LR pixel of the checkerboard


def test_side_by_side_panes_share_zoom_and_pan(view):
    s = view.state
    s.set_mode("side")
    rects = view.pane_rects()
    assert [k for k, _ in rects] == ["bicubic", "sr", "hr"]  # the picks, then the ground truth
    for key, rect in rects:
        c = rect.center()
        assert colour_at(view, int(c.x()), int(c.y())) == COLOURS[key]
    s.set_zoom(8.0, (20.0, 40.0))
    p1 = s.to_canvas(20.0, 40.0)
    assert all(s.to_canvas(20.0, 40.0) == p1 for _ in rects)  # one mapping for every pane


def test_loupe_shows_every_layer_at_once(view):
    s = view.state
    s.set_loupe(True)
    s.set_cursor((10.0, 10.0))
    img = view.grab().toImage()
    seen = {tuple(img.pixelColor(x, y).getRgb()[:3]) for x in range(0, 400, 3) for y in range(0, 300, 3)}
    assert {COLOURS["bicubic"], COLOURS["sr"], COLOURS["hr"]} <= seen
    assert (255, 255, 255) in seen and (0, 0, 0) in seen  # the LR checkerboard in its panel


def test_keys_pick_layers_swap_and_flick(qtbot):
    state = ComparisonState()
    window = QMainWindow()
    actions = make_view_actions(state, window)
    window.addActions(list(actions.values()))
    panel = ComparatorPanel(state, actions, window)
    window.setCentralWidget(panel)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()  # window shortcuts need the active window
    qtbot.waitUntil(window.isActiveWindow)
    state.set_layers({"lr": checker_lr(), **{k: solid(k) for k in ("bicubic", "sr", "hr", "error")}})
    assert panel.left.count() == 5 and panel.left.currentData() == "bicubic"
    qtbot.keyClick(panel.view, Qt.Key.Key_4)  # left = HR
    assert state.left == "hr" and panel.left.currentData() == "hr"
    qtbot.keyClick(panel.view, Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)  # right = error map
    assert state.right == "error"
    qtbot.keyClick(panel.view, Qt.Key.Key_X)
    assert (state.left, state.right) == ("error", "hr")
    qtbot.keyClick(panel.view, Qt.Key.Key_Space)
    assert state.solo == "left"
    qtbot.keyClick(panel.view, Qt.Key.Key_Escape)
    assert state.solo is None
    qtbot.keyClick(panel.view, Qt.Key.Key_S)
    assert state.mode == "side" and actions["mode"].isChecked()
    qtbot.keyClick(panel.view, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert state.zoom_percent == pytest.approx(100.0)
    qtbot.keyClick(panel.view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert state.fitted
    panel.right.setCurrentIndex(panel.right.findData("sr"))
    panel.right.activated.emit(panel.right.currentIndex())
    assert state.right == "sr"


def test_arrow_keys_pan_and_the_pan_is_clamped(view, qtbot):
    s = view.state
    view.setFocus()
    s.actual_size()
    s.set_zoom(16.0)  # 64x48 canvas at 16x: 25x18.75 canvas pixels in the 400x300 view
    before = s.center
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert s.center == pytest.approx((before[0] + 0.1 * 400 / 16, before[1]))
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert s.center[1] == pytest.approx(before[1] - 0.1 * 300 / 16)
    for _ in range(20):
        qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # a pane at a time
    x0, _, x1, _ = s.visible_rect()
    assert x1 == 64 and x0 == 64 - 25  # stopped at the right edge: no empty band
    s.actual_size()  # 1:1: the image is smaller than the view, it stays centred
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert s.center == (32, 24)
