"""The comparator with its bar (left/right layer pickers, swap, mode, loupe, fit, 1:1) and the
keyboard actions that drive a :class:`ComparisonState`.

Keys: 1-6 pick the left layer, Alt+1-6 the right one (LR, bicubic, SR, HR, error, second SR);
X swaps the sides, Space flicks (whole view shows one layer, then the other), Esc leaves flick;
S toggles split / side by side, L the loupe; Ctrl+0 fits, Ctrl+1 is 1:1, Ctrl+= / Ctrl+- zoom; with
the view focused, the arrow keys pan (Shift: a whole pane), clamped to the image.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from srgan_desktop.comparator import ComparatorView
from srgan_desktop.fit import fit_combo
from srgan_desktop.state.comparison_state import ZOOM_STEP, ComparisonState
from trainer.app.layers import LAYER_ORDER

LAYER_NAMES = {"lr": "LR", "bicubic": "Bicubic", "sr": "SR", "hr": "HR", "error": "Error map", "sr2": "SR (2nd model)"}


def make_view_actions(state: ComparisonState, parent: QWidget) -> dict[str, QAction]:
    """The comparator's actions, with shortcuts; add them to a menu and to the window."""
    acts: dict[str, QAction] = {}

    def add(name: str, text: str, keys, slot, checkable: bool = False) -> QAction:
        a = QAction(text, parent)
        if keys:
            a.setShortcuts([QKeySequence(k) for k in (keys if isinstance(keys, list) else [keys])])
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        acts[name] = a
        return a

    def safe(fn, *args):
        def run(*_):
            if state.layers:
                try:
                    fn(*args)
                except KeyError:
                    pass  # that layer is not present for this item
        return run

    add("fit", "Fit", "Ctrl+0", safe(state.fit)).setStatusTip("Fit the image to the window")
    add("actual", "1:1", "Ctrl+1", safe(state.actual_size)).setStatusTip("Actual pixels: one image pixel per screen pixel")
    add("zoom_in", "Zoom in", ["Ctrl+=", "Ctrl++"], safe(state.zoom_by, ZOOM_STEP))
    add("zoom_out", "Zoom out", "Ctrl+-", safe(state.zoom_by, 1 / ZOOM_STEP))
    add("zoom_400", "400 %", "Ctrl+4", safe(lambda: state.set_zoom(4.0 / state.pixel_ratio)))
    add("swap", "Swap sides", "X", safe(state.swap))
    add("flick", "Flick", "Space", safe(state.flick)).setStatusTip("Show one layer over the whole view; again for the other")
    add("unsolo", "Back to the divider", "Esc", safe(state.unsolo))
    mode = add("mode", "Side by side", "S", lambda on: state.set_mode("side" if on else "split"), checkable=True)
    loupe = add("loupe", "Loupe", "L", state.set_loupe, checkable=True)
    mode.setChecked(state.mode == "side")
    loupe.setChecked(state.loupe)
    state.changed.connect(lambda: (mode.setChecked(state.mode == "side"), loupe.setChecked(state.loupe)))
    for i, key in enumerate(LAYER_ORDER, 1):
        add(f"left_{key}", f"Left: {LAYER_NAMES[key]}", str(i), safe(state.set_left, key))
        add(f"right_{key}", f"Right: {LAYER_NAMES[key]}", f"Alt+{i}", safe(state.set_right, key))
    return acts


class ComparatorPanel(QWidget):
    """Layer pickers and view buttons above a :class:`ComparatorView`."""

    def __init__(self, state: ComparisonState, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.view = ComparatorView(state, self)
        self.left = QComboBox(self)
        self.right = QComboBox(self)
        self.left.setToolTip("Layer left of the divider (keys 1-6)")
        self.right.setToolTip("Layer right of the divider (Alt+1-6)")
        self.left.activated.connect(lambda i: self._pick(self.left, state.set_left))
        self.right.activated.connect(lambda i: self._pick(self.right, state.set_right))
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Left", self))
        bar.addWidget(self.left)
        bar.addWidget(self._button(actions["swap"], "⇄"))
        bar.addWidget(QLabel("Right", self))
        bar.addWidget(self.right)
        bar.addStretch(1)
        for name in ("flick", "mode", "loupe", "fit", "actual", "zoom_400"):
            bar.addWidget(self._button(actions[name]))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        state.layers_changed.connect(self._refill)
        state.changed.connect(self._sync)
        self._refill()

    def _button(self, action: QAction, text: str | None = None) -> QToolButton:
        b = QToolButton(self)
        b.setDefaultAction(action)
        if text:
            b.setText(text)
        tip = action.statusTip() or action.text()
        b.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return b

    def _refill(self) -> None:
        for combo in (self.left, self.right):
            combo.blockSignals(True)
            combo.clear()
            for key in self.state.keys():
                combo.addItem(self.state.layers[key].title, key)
                combo.setItemData(combo.count() - 1, self.state.layers[key].title, Qt.ItemDataRole.ToolTipRole)
            combo.blockSignals(False)
        self._sync()

    def _sync(self) -> None:
        for combo, key, tip in ((self.left, self.state.left, "Layer left of the divider (keys 1-6)"),
                                (self.right, self.state.right, "Layer right of the divider (Alt+1-6)")):
            layer = self.state.layers.get(key)
            combo.setToolTip(f"{layer.title}\n{tip}" if layer is not None else tip)
            i = combo.findData(key)
            if i >= 0 and combo.currentIndex() != i:
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)
            fit_combo(combo)  # the shown layer's name ("SR: srresnet_x4") is never cut

    @staticmethod
    def _pick(combo: QComboBox, setter) -> None:
        key = combo.currentData()
        if key:
            setter(key)
