"""The main window's actions (with their keyboard shortcuts) and menus.

Shortcuts: Ctrl+O open images, Ctrl+Shift+O open a folder, Ctrl+V paste, Ctrl+I import a model,
Ctrl+Return start, Ctrl+P pause/resume, Ctrl+. cancel, Delete remove, Ctrl+R retry, Ctrl+E
evaluation mode, Ctrl+Shift+E evaluate the selected items, Ctrl+M compare models; the comparator's
keys are listed in :mod:`srgan_desktop.comparator_panel`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from srgan_desktop.settings import THEMES

if TYPE_CHECKING:
    from srgan_desktop.main_window import MainWindow


def make_window_actions(w: MainWindow) -> dict[str, QAction]:
    """File, queue and evaluation actions of ``w``, added to the window so their shortcuts work
    wherever the focus is."""
    acts: dict[str, QAction] = {}

    def add(name: str, text: str, keys, slot, *, button: bool = False, checkable: bool = False) -> QAction:  # noqa: ANN001
        act = QAction(text, w)
        if keys is not None:
            act.setShortcut(QKeySequence(keys))
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        act.setProperty("queue_button", button)  # shown as a button above the queue
        w.addAction(act)
        acts[name] = act
        return act

    add("open", "Open images…", QKeySequence.StandardKey.Open, w.open_files)
    add("open_folder", "Open folder…", "Ctrl+Shift+O", w.open_folder)
    add("paste", "Paste image", QKeySequence.StandardKey.Paste, w.paste)
    add("import", "Import model file…", "Ctrl+I", w.import_model)
    add("install", "Install model into my models…", None, w.install_model)
    add("show_output", "Open output folder", "Ctrl+Shift+F", w.open_output_folder)
    add("quit", "Quit", QKeySequence.StandardKey.Quit, w.close)
    add("start", "Start", "Ctrl+Return", w.start_processing, button=True)
    add("pause", "Pause", "Ctrl+P", w.runner.toggle_pause, button=True)
    add("cancel", "Cancel", "Ctrl+.", w.runner.cancel, button=True)
    add("remove", "Remove", QKeySequence.StandardKey.Delete, lambda: w.runner.remove(w.queue_panel.selected_ids()), button=True)
    add("retry", "Retry", "Ctrl+R", lambda: w.runner.retry(w.queue_panel.selected_ids()), button=True)
    add("evaluate_selected", "Evaluate selected", "Ctrl+Shift+E", w.evaluate_selected)
    add("clear", "Clear finished", "Ctrl+Shift+Backspace", w.queue.clear_finished)
    add("evaluate", "Evaluation mode", "Ctrl+E", w._toggle_evaluate, checkable=True).setChecked(w.settings.evaluate)
    add("compare", "Compare models", "Ctrl+M", w.compare_models)
    for name, tip in (("start", "Process the waiting items"), ("pause", "Pause after the current tile / resume"),
                      ("cancel", "Stop the current item; the rest stay waiting"), ("retry", "Run failed or cancelled items again")):
        acts[name].setToolTip(f"{tip} ({acts[name].shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
    return acts


def make_window_menus(w: MainWindow) -> None:
    """File, Queue, Evaluate and View menus (View: zoom, modes, layers, panels, theme)."""
    a, v = w.actions_by_name, w.view_actions
    menus = {
        "&File": ["open", "open_folder", "paste", None, "import", "install", "show_output", None, "quit"],
        "&Queue": ["start", "pause", "cancel", None, "remove", "retry", "clear"],
        "&Evaluate": ["evaluate", "evaluate_selected", "compare"],
    }
    for title, names in menus.items():
        menu = w.menuBar().addMenu(title)
        for name in names:
            menu.addSeparator() if name is None else menu.addAction(a[name])
    view = w.menuBar().addMenu("&View")
    for name in ("fit", "actual", "zoom_in", "zoom_out", "zoom_400", None, "mode", "loupe", "swap", "flick", "unsolo"):
        view.addSeparator() if name is None else view.addAction(v[name])
    left, right = view.addMenu("Left layer"), view.addMenu("Right layer")
    for name, act in v.items():
        if name.startswith("left_"):
            left.addAction(act)
        elif name.startswith("right_"):
            right.addAction(act)
    view.addSeparator()
    for dock in w.findChildren(QDockWidget):
        view.addAction(dock.toggleViewAction())
    theme_menu = view.addMenu("Theme")
    group = QActionGroup(w)
    for name in THEMES:
        act = theme_menu.addAction(name.capitalize())
        act.setCheckable(True)
        act.setChecked(w.settings.theme == name)
        act.triggered.connect(lambda _checked=False, n=name: w.set_theme(n))
        group.addAction(act)


def confirm_quit(parent: QWidget) -> bool:
    """Ask whether to quit while an image is processed; True for "Yes"."""
    answer = QMessageBox.question(
        parent, "Quit SRGAN Desktop",
        "An image is being processed. Quit anyway?\n\nThe current image is cancelled; the files already "
        "saved are kept, and the waiting items are not processed.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def close_when(window: QWidget, stopped: Callable[[], bool], interval_ms: int = 50) -> QTimer:
    """Close ``window`` as soon as ``stopped()`` is true (polled; the GUI thread never waits)."""
    timer = QTimer(window)

    def poll() -> None:
        if stopped():
            timer.stop()
            window.close()

    timer.timeout.connect(poll)
    timer.start(interval_ms)
    return timer


def make_banner(parent: QWidget, import_model: Callable[[], None]) -> tuple[QFrame, QLabel]:
    """The hidden banner above the comparator (no usable model: "Import model file…"); returns the
    frame and its label."""
    frame = QFrame(parent)
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    row = QHBoxLayout(frame)
    label = QLabel(frame)
    label.setWordWrap(True)
    button = QPushButton("Import model file…", frame)
    button.clicked.connect(lambda: import_model())
    row.addWidget(label, 1)
    row.addWidget(button)
    frame.hide()
    return frame, label
