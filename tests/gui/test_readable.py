"""Readable names and a "Compare with" that works (issue 18, points 6 and 9): the pickers and the
readouts never cut the shipped model names (srgan_x4, srresnet_x4, photo_x4, "Auto: …"), their
tooltips carry the full text; choosing a "Compare with" model runs the comparison with visible
progress, and the main model itself is not offered."""

from __future__ import annotations

import pytest
from conftest import save_tiny_model, write_image
from PySide6.QtWidgets import QComboBox

from srgan_desktop.fit import DECORATIONS, FIT_SCREEN, combo_width

SHIPPED = ("srgan_x4", "srresnet_x4", "photo_x4")


@pytest.fixture()
def shipped_names(env_dirs):
    for i, name in enumerate(SHIPPED):
        save_tiny_model(env_dirs["models"] / f"{name}.safetensors", seed=i)
    return SHIPPED


def _not_cut(combo: QComboBox) -> None:
    """The chosen entry shows whole in the closed combo, every entry whole in its pop-up list."""
    need = combo_width(combo, combo.currentText())
    assert combo.width() >= need and combo.minimumWidth() >= need, (combo.currentText(), combo.width(), need)
    fm = combo.fontMetrics()
    for i in range(combo.count()):
        assert combo.view().minimumWidth() >= fm.horizontalAdvance(combo.itemText(i)), combo.itemText(i)


def test_model_names_are_never_cut_and_tooltips_carry_them(make_window, qtbot, tmp_path, shipped_names):
    window = make_window(evaluate=True, model="auto", autostart=False)
    window.resize(FIT_SCREEN[0] - DECORATIONS[0], FIT_SCREEN[1] - DECORATIONS[1])
    options = window.options
    labels = [options.model.itemText(i) for i in range(options.model.count())]
    assert any(t.startswith("Auto: ") for t in labels) and all(any(n in t for t in labels) for n in SHIPPED)
    _not_cut(options.model)
    _not_cut(options.compare)
    for name in SHIPPED:  # each shipped model, chosen, shows whole
        options.model.setCurrentIndex(options.model.findData(name))
        options.model.activated.emit(options.model.currentIndex())
        assert name in options.model.currentText()
        _not_cut(options.model)
    options.model.setCurrentIndex(options.model.findData("auto"))
    options.model.activated.emit(options.model.currentIndex())
    assert options.model.currentText() in options.model.toolTip()  # the full "Auto: …" text

    image = write_image(tmp_path / "in" / "x.png", (40, 32))
    window.add_paths([image], evaluate=True)
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    window.settings.compare_model = "srresnet_x4"
    with qtbot.waitSignal(window.compare_done, timeout=60000):
        window.compare_models()
    panel = window.comparator
    _not_cut(panel.left)
    _not_cut(panel.right)
    assert panel.right.currentText() in panel.right.toolTip()
    table = window.readouts.table
    fm = table.fontMetrics()
    labels = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert "SR: srgan_x4" in labels and "SR: srresnet_x4" in labels and "HR (ground truth)" in labels
    for r, text in enumerate(labels):
        assert table.columnWidth(0) >= fm.horizontalAdvance(text), text
        assert table.item(r, 0).toolTip() == text
    assert table.width() >= table.horizontalHeader().length()  # no column hidden past the edge


def test_choosing_a_compare_model_runs_it_with_progress(make_window, qtbot, tmp_path, shipped_names):
    window = make_window(evaluate=True, model="srgan_x4", autostart=False)
    compare = window.options.compare
    offered = [compare.itemData(i) for i in range(compare.count())]
    assert "srgan_x4" not in offered and "srresnet_x4" in offered  # not the main model itself
    image = write_image(tmp_path / "in" / "x.png", (40, 32))
    window.add_paths([image], evaluate=True)
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    seen = []
    window.compare_progress.valueChanged.connect(lambda v: seen.append((v, window.compare_progress.isVisible())))
    with qtbot.waitSignal(window.compare_done, timeout=60000) as done:
        compare.setCurrentIndex(compare.findData("srresnet_x4"))
        compare.activated.emit(compare.currentIndex())  # as a user's pick
    assert done.args == [""]
    assert seen and all(visible for v, visible in seen if v > 0) and max(v for v, _ in seen) > 0
    assert (window.comparison.left, window.comparison.right) == ("sr", "sr2")
    qtbot.waitUntil(lambda: not window.compare_progress.isVisible())

    # A new main model drops it from the compare list (and the compare choice if it was that one).
    model = window.options.model
    model.setCurrentIndex(model.findData("srresnet_x4"))
    model.activated.emit(model.currentIndex())
    offered = [compare.itemData(i) for i in range(compare.count())]
    assert "srresnet_x4" not in offered and "srgan_x4" in offered
    assert window.settings.compare_model == ""
