"""Small screens and stray wheels (issue 18, points 1 and 2): the window's minimum size fits
1280x720 less decorations in every state, nothing grows the window by itself, and the mouse wheel
changes a spin box or a combo box only when that field has the focus."""

from __future__ import annotations

from conftest import write_image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDockWidget, QScrollArea, QSpinBox, QVBoxLayout, QWidget

from srgan_desktop.fit import DECORATIONS, FIT_SCREEN, fits_screen, install_wheel_guard

ROOM = (FIT_SCREEN[0] - DECORATIONS[0], FIT_SCREEN[1] - DECORATIONS[1])


def _assert_fits(window, state: str) -> None:
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert fits_screen(window), f"{state}: minimum {hint.width()}x{hint.height()} > {ROOM[0]}x{ROOM[1]}"
    assert window.width() <= ROOM[0] and window.height() <= ROOM[1], f"{state}: the window grew to {window.size()}"
    for dock in window.findChildren(QDockWidget):
        if dock.isVisible():
            assert isinstance(dock.widget(), QScrollArea), f"{dock.objectName()} does not scroll"


def test_window_fits_1280x720_in_every_state(qtbot, make_window, tiny_model, tmp_path):
    w = make_window(evaluate=True, autostart=False)
    w.resize(*ROOM)
    qtbot.waitUntil(lambda: w.width() <= ROOM[0])
    _assert_fits(w, "empty")
    images = [write_image(tmp_path / f"a_rather_long_file_name_for_the_queue_{i}.png", (40, 32), seed=i) for i in range(3)]
    w.add_paths(images, evaluate=True)
    qtbot.waitUntil(lambda: len(w.queue) == 3)
    _assert_fits(w, "queue")
    with qtbot.waitSignal(w.result_shown, timeout=60000):
        w.start_processing()
    qtbot.waitUntil(lambda: not w.runner.running and not w.runner.busy, timeout=60000)
    _assert_fits(w, "readouts")
    w.comparison.set_mode("side")
    qtbot.wait(50)
    _assert_fits(w, "side by side")
    w.training.monitor_dock.show()
    w.training.monitor_dock.raise_()
    assert w.training.monitor.isVisible() or w.training.monitor_dock.isVisible()
    qtbot.wait(50)
    _assert_fits(w, "training monitor")
    w.training.runs_dock.show()
    w.training.runs_dock.raise_()
    qtbot.wait(50)
    _assert_fits(w, "training runs")


def test_training_wizard_fits_1280x720(qtbot, env_dirs):
    from srgan_desktop.training.wizard import TrainingWizard
    from trainer.train.support.config_draft import ConfigDraft

    wizard = TrainingWizard(ConfigDraft("quick"), auto_probe=False)
    qtbot.addWidget(wizard)
    wizard.show()
    room = wizard.screen().availableGeometry()  # the offscreen screen's: its size is chosen within it
    assert wizard.width() <= min(880, room.width()) and wizard.height() <= min(760, room.height())
    hint = wizard.minimumSize().expandedTo(wizard.minimumSizeHint())
    assert hint.width() <= ROOM[0] and hint.height() <= ROOM[1]
    wizard.resize(*ROOM)
    assert (wizard.width(), wizard.height()) == ROOM
    wizard.close()


def _wheel(widget: QWidget, steps: int = -1) -> None:
    """One wheel notch over ``widget``'s centre (delivered as Qt delivers it: through notify)."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_wheel_changes_only_a_focused_field_and_scrolls_the_page(qtbot):
    install_wheel_guard()
    area = QScrollArea()
    page = QWidget()
    col = QVBoxLayout(page)
    spin, combo = QSpinBox(page), QComboBox(page)
    spin.setRange(0, 5000)
    spin.setValue(1500)
    combo.addItems(["a", "b", "c"])
    col.addWidget(spin)
    col.addWidget(combo)
    col.addSpacing(2000)  # a page taller than its area: the wheel should scroll it
    area.setWidget(page)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    bar = area.verticalScrollBar()
    assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus  # a wheel does not give it the focus
    _wheel(spin)
    _wheel(combo)
    assert spin.value() == 1500 and combo.currentIndex() == 0
    assert bar.value() > 0  # the page scrolled instead
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    _wheel(spin)
    assert spin.value() != 1500  # a focused field still takes the wheel


def test_wheel_does_not_change_wizard_and_option_fields(qtbot, make_window, tiny_model):
    from srgan_desktop.training.wizard import TrainingWizard
    from trainer.train.support.config_draft import ConfigDraft

    w = make_window()
    before = w.options.format.currentIndex(), w.options.quality.value()
    _wheel(w.options.format)
    _wheel(w.options.quality)
    assert (w.options.format.currentIndex(), w.options.quality.value()) == before
    wizard = TrainingWizard(ConfigDraft("quick"), w, auto_probe=False)
    qtbot.addWidget(wizard)
    wizard.recipe_page.load()
    spins = [f for f in wizard.recipe_page.fields.values() if isinstance(f, QSpinBox)]
    assert spins
    values = [s.value() for s in spins]
    for s in spins:
        _wheel(s)
    assert [s.value() for s in spins] == values
    wizard.close()
