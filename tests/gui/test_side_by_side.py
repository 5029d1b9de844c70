"""Side by side with two models (issue 18, point 7): the ground truth stays, the Left/Right pickers
decide the panes, the panes use the space, and each result has its error map, drawn with a legend."""

from __future__ import annotations

from conftest import save_tiny_model, write_image


def test_side_by_side_keeps_ground_truth_with_two_models(make_window, qtbot, tmp_path, tiny_model, env_dirs):
    save_tiny_model(env_dirs["user"] / "models" / "other.safetensors", seed=7)
    window = make_window(evaluate=True, autostart=False)
    window.resize(1200, 700)
    window.add_paths([write_image(tmp_path / "in" / "wide.png", (48, 32))], evaluate=True)
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    window.settings.compare_model = "other"
    with qtbot.waitSignal(window.compare_done, timeout=60000):
        window.compare_models()
    state, view = window.comparison, window.comparator.view
    # Each result has its error map.
    assert {"error", "error_bicubic", "error_sr2"} <= set(state.layers)
    assert state.layers["error_sr2"].title.startswith("Error |other")
    state.set_mode("side")
    assert (state.left, state.right) == ("sr", "sr2")
    assert [k for k, _ in view.pane_rects()] == ["sr", "sr2", "hr"]  # the truth stays with two models
    state.set_pair("bicubic", "error_sr2")  # the pickers decide
    assert [k for k, _ in view.pane_rects()] == ["bicubic", "error_sr2", "hr"]
    combo = window.comparator.right
    assert combo.currentData() == "error_sr2"
    # The space is used: the panes tile the view and the image is as large as any arrangement allows.
    cols, rows = state.grid()
    for _, r in view.pane_rects():  # grid cells of the view
        assert (r.width(), r.height()) == (view.width() / cols, view.height() / rows)
    cw, ch = state.canvas_size
    best = max(min(view.width() / c / cw, view.height() / r / ch) for c, r in ((3, 1), (2, 2), (1, 3)))
    assert state.fit_zoom() == min(view.width() / cols / cw, view.height() / rows / ch) == best
    view.grab()  # paints
    assert len(view.legend_rects) == 1  # the error map's pane has its colour scale
    state.set_mode("split")
    view.grab()
    assert len(view.legend_rects) == 1
    state.set_pair("bicubic", "sr")
    view.grab()
    assert not view.legend_rects
