"""Small widgets shared by the wizard pages and the monitor: help texts, images, problem boxes."""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QPixmap
from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from srgan_desktop.qimage import array_to_qimage

ERROR_STYLE = "color: #d04040;"


def help_label(text: str, parent: QWidget | None = None) -> QLabel:
    """A plain-words explanation under a field: smaller, dimmer, wrapped."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    font = label.font()
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def add_field(form: QFormLayout, label: str, widget: QWidget | QHBoxLayout, help_text: str = "") -> QLabel | None:
    """A form row with its explanation below the widget; returns the help label."""
    box = QWidget(form.parentWidget())
    col = QVBoxLayout(box)
    col.setContentsMargins(0, 0, 0, 2)
    col.setSpacing(1)
    if isinstance(widget, QHBoxLayout):
        col.addLayout(widget)
    else:
        col.addWidget(widget)
    hint = None
    if help_text:
        hint = help_label(help_text, box)
        col.addWidget(hint)
    form.addRow(label, box)
    return hint


def row(*widgets: QWidget, stretch: int | None = None) -> QHBoxLayout:
    """Widgets side by side (no margins); widget number ``stretch`` takes the spare width (else
    the widgets keep their size and a spacer takes it)."""
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if i == stretch else 0)
    if stretch is None:
        layout.addStretch(1)
    return layout


def pixmap(pixels: np.ndarray, side: int | None = None, *, smooth: bool = False) -> QPixmap:
    """A pixmap of an RGB uint8 array, scaled to ``side`` pixels on its longer edge (nearest
    neighbour by default, so low-resolution pixels stay visible as blocks)."""
    pm = QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(pixels)))
    if side:
        mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        pm = pm.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return pm


def image_label(pixels: np.ndarray | None, side: int, caption: str = "", parent: QWidget | None = None) -> QWidget:
    """An image with a caption below it."""
    box = QWidget(parent)
    col = QVBoxLayout(box)
    col.setContentsMargins(0, 0, 0, 0)
    col.setSpacing(2)
    img = QLabel(box)
    img.setFixedSize(side, side)
    img.setAlignment(Qt.AlignmentFlag.AlignCenter)
    img.setFrameShape(QFrame.Shape.StyledPanel)
    if pixels is not None:
        img.setPixmap(pixmap(pixels, side))
    col.addWidget(img)
    if caption:
        cap = help_label(caption, box)
        cap.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        cap.setMaximumWidth(side + 40)
        col.addWidget(cap)
    box.image = img  # type: ignore[attr-defined]
    return box


class ProblemBox(QFrame):
    """Lists what is wrong on a page, in red, with a button per available fix.

    ``fixes`` maps a problem's ``fix`` name to (button label, callback).
    """

    def __init__(self, fixes: dict[str, tuple[str, Callable[[], None]]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fixes = fixes or {}
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 4)
        self.messages: list[str] = []
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def show_problems(self, problems: list) -> None:  # list[config_draft.Problem]
        """Replace the shown problems (hidden when there are none)."""
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.messages = [p.message for p in problems]
        self.buttons = {}
        for p in problems:
            label = QLabel(p.message, self)
            label.setWordWrap(True)
            label.setStyleSheet(ERROR_STYLE)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._layout.addWidget(label)
            if p.fix in self.fixes and p.fix not in self.buttons:
                text, callback = self.fixes[p.fix]
                button = QPushButton(text, self)
                button.clicked.connect(callback)
                self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
                self.buttons[p.fix] = button
        self.setVisible(bool(problems))
