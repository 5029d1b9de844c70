"""State objects without widgets: comparison state, queue model, naming, settings, QImage conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srgan_desktop.qimage import array_to_qimage, qimage_to_array
from srgan_desktop.state.comparison_state import ComparisonState
from srgan_desktop.state.queue_state import QueueModel, Status, format_duration
from trainer.app.layers import Layer
from trainer.naming import TemplateError, validate_template


def layers(w=64, h=48, scale=4):
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 255, (h // scale, w // scale, 3), dtype=np.uint8)
    out = {"lr": Layer("lr", "LR", lr, factor=scale, nearest=True)}
    for key in ("bicubic", "sr", "hr"):
        out[key] = Layer(key, key, rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    return out


# -- comparison state -----------------------------------------------------------------------------
def test_zoom_keeps_the_point_under_the_cursor_fixed(qtbot):
    s = ComparisonState()
    s.set_view_size(400, 300)
    s.set_layers(layers())
    anchor = (123.0, 77.0)
    before = s.to_canvas(*anchor)
    s.zoom_by(1.25**3, anchor)
    after = s.to_canvas(*anchor)
    assert after == pytest.approx(before)
    assert not s.fitted


def test_fit_and_actual_size_and_pan(qtbot):
    s = ComparisonState()
    s.set_view_size(400, 300)
    s.set_layers(layers(64, 48))
    assert s.zoom == pytest.approx(min(400 / 64, 300 / 48)) and s.center == (32, 24)
    assert s.visible_rect() == (0, 0, 64, 48)
    s.actual_size()
    assert s.zoom == 1.0
    s.set_zoom(8.0)
    s.pan_by(40, -20)  # drag right/up by (40, -20) view px moves the image, not the window
    assert s.center == pytest.approx((32 - 5, 24 + 2.5))
    s.set_view_size(100, 80)  # at 8x: 12.5x10 canvas pixels around (27, 26.5)
    assert s.visible_rect() == (20, 21, 34, 32)
    s.pan_by(-1000, 1000)  # clamped: the image's corner stays at the pane's, no empty band
    assert s.visible_rect() == (51, 0, 64, 10) and s.center == pytest.approx((64 - 6.25, 5))
    s.set_zoom(1.0)  # smaller than the pane: centred, and panning does not move it
    s.pan_by(30, 30)
    assert s.center == (32, 24)
    s.pixel_ratio = 2.0  # a high-DPI screen: 1:1 means one image pixel per device pixel
    s.actual_size()
    assert s.zoom == 0.5 and s.zoom_percent == 100.0


def test_layer_choice_swap_flick_and_split(qtbot):
    s = ComparisonState()
    s.set_layers(layers())
    assert (s.left, s.right) == ("bicubic", "sr")
    s.set_left("lr")
    s.set_right("hr")
    assert (s.left, s.right) == ("lr", "hr")
    s.set_right("lr")  # picking the other side's layer exchanges the two
    assert (s.left, s.right) == ("hr", "lr")
    s.swap()
    assert (s.left, s.right) == ("lr", "hr")
    s.flick()
    assert s.shown_key() == "lr"
    s.flick()
    assert s.shown_key() == "hr"
    s.unsolo()
    assert s.solo is None
    s.set_split(1.7)
    assert s.split == 1.0
    with pytest.raises(KeyError, match="no layer 'error'"):
        s.set_left("error")


def test_pair_kept_across_items_and_side_by_side_panes(qtbot):
    s = ComparisonState()
    s.set_view_size(900, 300)
    s.set_layers(layers())
    s.set_pair("sr", "hr")
    s.set_layers(layers())  # next item: same pair still shown
    assert (s.left, s.right) == ("sr", "hr")
    s.set_mode("side")
    assert s.side_keys() == ["sr", "hr"]  # the picks (HR is one of them)
    assert s.grid() == (2, 1) and s.pane_size() == (450.0, 300.0)
    assert s.zoom == pytest.approx(min(450 / 64, 300 / 48))  # each pane fits the image
    s.set_pair("bicubic", "sr")
    assert s.side_keys() == ["bicubic", "sr", "hr"]  # the ground truth stays
    assert s.pane_size() == (300.0, 300.0) and s.zoom == pytest.approx(min(300 / 64, 300 / 48))
    s.set_view_size(500, 500)  # a square view: a 2x2 grid shows the image larger than a row or a column
    assert s.grid() == (2, 2) and s.pane_size() == (250.0, 250.0)
    s.set_view_size(400, 900)  # a tall one: a column
    assert s.grid() == (1, 3)
    s.set_pair("sr", "hr")
    no_sr = {k: v for k, v in layers().items() if k != "sr"}
    s.set_layers(no_sr)
    assert (s.left, s.right) == ("bicubic", "hr")


# -- queue model ----------------------------------------------------------------------------------
def test_queue_add_update_overall_and_eta(qtbot):
    q = QueueModel()
    now = [100.0]
    q._clock = lambda: now[0]
    ids = q.add([(Path("a.png"), None), (Path("b.png"), None), (Path("a.png"), None)])
    assert len(ids) == 2 and len(q) == 2  # a file already waiting is not queued twice
    q.update(ids[0], size=(1000, 1000))
    q.update(ids[1], size=(2000, 1000))
    assert q.overall().text() == "2 items · 0 done"
    q.update(ids[0], status=Status.RUNNING)
    now[0] += 10.0
    q.update(ids[0], status=Status.DONE, progress=1.0)
    q.update(ids[1], status=Status.RUNNING, progress=0.5)
    o = q.overall()
    assert (o.current, o.total, o.done) == (2, 2, 1)
    assert o.fraction == pytest.approx(0.75)
    # 10 s per megapixel; the running item has 2 MP and is half done: 10 s left.
    assert o.eta_s == pytest.approx(10.0)
    assert "Item 2 of 2" in o.text() and "ETA 10 s" in o.text()


def test_queue_retry_and_remove(qtbot):
    q = QueueModel()
    a, b = q.add([(Path("a.png"), None), (Path("b.png"), Path("folder"))])
    q.update(a, status=Status.FAILED, error="a.png: not an image")
    assert q.retry([a, b]) == [a]
    assert q.get(a).status is Status.WAITING and q.get(a).error == ""
    with qtbot.waitSignal(q.removed):
        q.remove([a])
    assert [it.id for it in q.items] == [b] and q.get(b).root == Path("folder")


def test_format_duration():
    assert [format_duration(s) for s in (4.4, 65, 3725)] == ["4 s", "1 min 05 s", "1 h 02 min"]


# -- naming (output paths are planned by trainer.pipeline: tests/trainer/test_pipeline.py) ---------
@pytest.mark.parametrize("template, reason", [("{stem", "expected '}'"), ("{name}_x4", "unknown field {name}"), ("{}", "unknown field {}")])
def test_bad_templates_say_why(template, reason):
    with pytest.raises(TemplateError, match=reason.replace("{", r"\{").replace("}", r"\}")):
        validate_template(template)


# -- settings -------------------------------------------------------------------------------------
def test_settings_round_trip_and_bad_values(tmp_path):
    from srgan_desktop.settings import load_settings, make_qsettings, save_settings

    store = make_qsettings(tmp_path / "s.ini")
    s = load_settings(store)
    s.format, s.quality, s.evaluate, s.template, s.model = "jpg", 80, True, "{stem}-big", "mine"
    save_settings(store, s)
    again = load_settings(make_qsettings(tmp_path / "s.ini"))
    assert (again.format, again.quality, again.evaluate, again.template, again.model) == ("jpg", 80, True, "{stem}-big", "mine")
    store.setValue("options/quality", "lots")
    store.setValue("options/format", "gif")
    broken = load_settings(store)
    assert broken.quality == 95 and broken.format == "same"


# -- conversions ----------------------------------------------------------------------------------
def test_qimage_round_trips(qtbot):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    back, alpha = qimage_to_array(array_to_qimage(rgb, copy=False))
    assert np.array_equal(back, rgb) and alpha is None
    a = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    back, alpha = qimage_to_array(array_to_qimage(rgb, a))
    assert np.array_equal(back, rgb) and np.array_equal(alpha, a)
    grey16 = rng.integers(0, 65536, (7, 9), dtype=np.uint16)
    img = array_to_qimage(grey16)
    assert img.format().name == "Format_Grayscale8"
    back, _ = qimage_to_array(img)
    assert np.array_equal(back[:, :, 0], np.round(grey16 / 257.0).astype(np.uint8))


