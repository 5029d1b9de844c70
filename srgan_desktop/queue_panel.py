"""The queue panel: a table of items (thumbnail, size, status, progress) and the overall progress."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from srgan_desktop.qimage import array_to_qimage
from srgan_desktop.state.queue_state import QueueItem, QueueModel, Status

COL_NAME, COL_STATUS = range(2)
HEADERS = ("File", "Status")
THUMB = 48
ITEM_ID_ROLE = Qt.ItemDataRole.UserRole + 1
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2
STATUS_ROLE = Qt.ItemDataRole.UserRole + 3


def format_size(item: QueueItem) -> str:
    parts = []
    if item.size is not None:
        parts.append(f"{item.size[0]}×{item.size[1]}")
    if item.file_bytes is not None:
        b = item.file_bytes
        parts.append(f"{b / 1e6:.1f} MB" if b >= 1e6 else f"{max(1, round(b / 1e3))} kB")
    return " · ".join(parts) or "…"


def format_status(item: QueueItem) -> str:
    if item.status is Status.FAILED:
        return f"Failed: {item.error}"
    if item.status in (Status.RUNNING, Status.PAUSED) and item.stage:
        return f"{item.status.value}: {item.stage}" if item.status is Status.PAUSED else item.stage
    if item.status is Status.DONE:
        text = f"Done in {item.seconds:.1f} s" if item.seconds is not None else "Done"
        return f"{text} · {item.model}" if item.model else text
    return item.status.value


class QueueTableModel(QAbstractTableModel):
    """Qt item model over a :class:`QueueModel` (the state object stays the source of truth)."""

    def __init__(self, queue: QueueModel, parent=None) -> None:
        super().__init__(parent)
        self.queue = queue
        self._pixmaps: dict[int, tuple[object, QPixmap]] = {}
        queue.inserted.connect(self._on_inserted)
        queue.changed.connect(self._on_changed)
        queue.removed.connect(self._on_removed)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.queue)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.queue):
            return None
        item = self.queue.at(index.row())
        col = index.column()
        if role == ITEM_ID_ROLE:
            return item.id
        if role == PROGRESS_ROLE:
            return item.progress
        if role == STATUS_ROLE:
            return item.status
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_NAME:
                return item.path.name + ("  [evaluate]" if item.evaluate else "") + "\n" + format_size(item)
            if col == COL_STATUS:
                return format_status(item)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_NAME:
            return self._pixmap(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [str(item.path), format_status(item) if not item.error else item.status.value]
            if item.error:
                lines.append(item.error)
            if item.model:
                lines.append(f"Model: {item.model}")
            if item.output is not None:
                lines.append(f"Saved to {item.output}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS and item.status is Status.FAILED:
            return QBrush(QColor(220, 60, 60))
        return None

    def _pixmap(self, item: QueueItem) -> QPixmap | None:
        if item.thumbnail is None:
            return None
        cached = self._pixmaps.get(item.id)
        if cached is None or cached[0] is not item.thumbnail:  # built once per thumbnail array
            cached = (item.thumbnail, QPixmap.fromImage(array_to_qimage(item.thumbnail)))
            self._pixmaps[item.id] = cached
        return cached[1]

    def _on_inserted(self, first: int, count: int) -> None:
        self.beginInsertRows(QModelIndex(), first, first + count - 1)
        self.endInsertRows()

    def _on_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def _on_removed(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        self.endRemoveRows()


class StatusDelegate(QStyledItemDelegate):
    """The status column: a progress bar with the current step while an item runs, text otherwise."""

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        if index.data(STATUS_ROLE) not in (Status.RUNNING, Status.PAUSED):
            super().paint(painter, option, index)
            return
        value = index.data(PROGRESS_ROLE) or 0.0
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(4, 8, -4, -8)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(round(value * 1000))
        bar.text = f"{round(value * 100)}% {index.data(Qt.ItemDataRole.DisplayRole) or ''}".strip()
        bar.textVisible = True
        bar.state = option.state
        bar.palette = option.palette
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class QueuePanel(QWidget):
    """Queue table, command buttons and overall progress.

    ``selection_changed(item_id)`` (-1 for none) tells the window which item to compare.
    """

    selection_changed = Signal(int)

    def __init__(self, queue: QueueModel, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.table_model = QueueTableModel(queue, self)
        self.view = QTableView(self)
        self.view.setModel(self.table_model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.view.setItemDelegateForColumn(COL_STATUS, StatusDelegate(self.view))
        self.view.setWordWrap(True)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_STATUS, 116)
        self.setMinimumWidth(260)
        self.view.selectionModel().selectionChanged.connect(self._emit_selection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for action in actions:
            self.view.addAction(action)

        self.overall_bar = QProgressBar(self)
        self.overall_bar.setRange(0, 1000)
        self.overall_bar.setTextVisible(False)
        self.overall_label = QLabel(self)
        self.overall_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for action in actions:
            if action.property("queue_button"):
                btn = QToolButton(self)
                btn.setDefaultAction(action)
                btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                buttons.addWidget(btn)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.overall_bar)
        layout.addWidget(self.overall_label)
        queue.overall_changed.connect(self.refresh_overall)
        self.refresh_overall()

    def refresh_overall(self) -> None:
        overall = self.queue.overall()
        self.overall_bar.setValue(int(round(overall.fraction * 1000)))
        self.overall_label.setText(overall.text())

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.queue.at(r).id for r in rows if r < len(self.queue)]

    def select_item(self, item_id: int) -> None:
        row = self.queue.row_of(item_id)
        if row >= 0:
            self.view.selectRow(row)

    def _emit_selection(self, *_args) -> None:
        ids = self.selected_ids()
        self.selection_changed.emit(ids[-1] if ids else -1)
