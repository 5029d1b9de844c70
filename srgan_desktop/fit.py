"""Small screens and stray wheels: docks whose content scrolls, and a wheel that changes a spin box
or a combo box only when that field has the keyboard focus.

The window must fit 1280x720 (less the window manager's decorations) in every state: a dock's
minimum size is its content's, so a tall or wide panel would otherwise grow the window by itself.
:func:`scrolled` puts a panel in a frameless scroll area, so the dock can shrink and its content
scrolls instead. :data:`FIT_SCREEN` is the smallest screen the layout is tested against.

:class:`WheelGuard` is one application-wide event filter: a wheel over an unfocused spin box or combo
box goes to the page under it (which scrolls) instead of changing the value unnoticed.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFrame,
    QScrollArea,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)

FIT_SCREEN = (1280, 720)
#: room the window manager and a panel take from a 1280x720 screen (title bar, borders, task bar)
DECORATIONS = (16, 72)
#: the smallest a side dock gets: panels stay usable (they scroll below their natural size)
DOCK_MIN = (180, 90)


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` inside a frameless, resizable scroll area (the area becomes its parent): the
    content fills the area and scrolls (either way) only below its own minimum size."""
    area = QScrollArea(widget.parentWidget())
    area.setObjectName(f"scroll_{widget.objectName() or type(widget).__name__}")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setMinimumSize(*DOCK_MIN)
    return area


def fit_combo(combo: QComboBox) -> None:
    """Make ``combo`` show its current entry whole (never squeezed below it) and its pop-up list
    every entry whole, without sizing the closed combo for its longest entry (which would widen the
    window for names it does not show). Call after filling it and after each change of choice."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(6)
    combo.setMinimumWidth(combo_width(combo, combo.currentText()))
    fm = combo.fontMetrics()
    longest = max((fm.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0)
    combo.view().setMinimumWidth(longest + 32)


def combo_width(combo: QComboBox, text: str) -> int:
    """The width ``combo`` needs to show ``text`` whole (frame, margins and arrow included)."""
    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    fm = combo.fontMetrics()
    inner = QSize(fm.horizontalAdvance(text) + 4, fm.height())
    return combo.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, opt, inner, combo).width()


def fits_screen(window: QWidget, screen: tuple[int, int] = FIT_SCREEN) -> bool:
    """True when ``window``'s minimum size fits ``screen`` less :data:`DECORATIONS`."""
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    return hint.width() <= screen[0] - DECORATIONS[0] and hint.height() <= screen[1] - DECORATIONS[1]


def resize_within_screen(window: QWidget, width: int, height: int) -> None:
    """Resize ``window`` to ``width`` x ``height``, or less on a smaller screen (its available area)."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is not None:
        room = screen.availableGeometry()
        width, height = min(width, room.width() - DECORATIONS[0]), min(height, room.height() - DECORATIONS[1])
    window.resize(max(width, 320), max(height, 240))


class WheelGuard(QObject):
    """Drops wheel events on spin boxes and combo boxes that do not have the focus; the event then
    goes on to the parent (a scroll area scrolls). Install once with :func:`install_wheel_guard`."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Polish and isinstance(obj, (QAbstractSpinBox, QComboBox)):
            obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel must not give them the focus
            return False
        if event.type() == QEvent.Type.Wheel and isinstance(obj, (QAbstractSpinBox, QComboBox)) and not obj.hasFocus():
            area = _scroll_area_of(obj)
            if area is not None:  # the page under the field scrolls, as if the field were not there
                QApplication.sendEvent(area.viewport(), event)
            else:
                event.ignore()  # not accepted: QApplication offers it to the parent widget
            return True
        return False


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, (QAbstractSpinBox, QComboBox)):
            return parent
        parent = parent.parentWidget()
    return None


def install_wheel_guard(app: QApplication | None = None) -> WheelGuard | None:
    """Install the one :class:`WheelGuard` on the application (idempotent); returns it."""
    app = app or QApplication.instance()
    if app is None:
        return None
    guard = app.findChild(WheelGuard, "wheel_guard")
    if guard is None:
        guard = WheelGuard(app)
        guard.setObjectName("wheel_guard")
        app.installEventFilter(guard)
    return guard
