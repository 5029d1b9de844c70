"""The "Training runs" dock: past and interrupted runs, resume, compare a run's model, delete."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from srgan_desktop.worker import start_worker
from trainer.train.support.runs import STATUS_TEXT, RunInfo, delete_run, list_runs

STATUS = STATUS_TEXT  # the same words as srgan-train --list-runs
COLUMNS = ("Run", "Status", "Steps", "Best PSNR", "Updated")


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else ""


class RunsPanel(QWidget):
    """Lists :func:`runs.list_runs` (refreshed in a worker). Signals carry the run folder:
    ``resume_requested``, ``show_requested`` (curves of a past run), ``compare_requested`` (its
    model next to the current one); ``new_requested()`` opens the wizard."""

    resume_requested = Signal(str)
    show_requested = Signal(str)
    compare_requested = Signal(str)
    new_requested = Signal()
    refreshed = Signal()

    def __init__(self, active: Callable[[], list[str]] = list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.active = active
        self.root: Path | None = None  # None: the default runs folder
        self.runs: list[RunInfo] = []
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self._emit(self.show_requested))
        self.buttons: dict[str, QPushButton] = {}
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for layout, name, text, tip, slot in (
            (row1, "new", "New run…", "Open the training wizard", self.new_requested.emit),
            (row1, "resume", "Resume", "Continue the run exactly where its last checkpoint left it",
             lambda: self._emit(self.resume_requested)),
            (row1, "show", "Curves", "Show the run's curves in the training monitor", lambda: self._emit(self.show_requested)),
            (row2, "compare", "Compare model", "Upscale the shown image with this run's model next to the current model",
             lambda: self._emit(self.compare_requested)),
            (row2, "folder", "Folder", "Open the run folder", self._open_folder),
            (row2, "delete", "Delete…", "Delete the run folder (checkpoints, log; installed models stay)",
             lambda: self.delete_selected()),
        ):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons[name] = button
        refresh = QPushButton("Refresh", self)
        refresh.clicked.connect(self.refresh)
        row2.addWidget(refresh)
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        col.addWidget(self.tree, 1)
        col.addLayout(row1)
        col.addLayout(row2)
        self._update_buttons()

    # -- listing ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the runs again (file reads in a worker thread)."""
        start_worker(list_runs, self.root, active=self.active(), connect={"returned": self.set_runs})

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Show ``runs`` (keeps the selection by folder)."""
        selected = self.selected()
        self.runs = runs
        self.tree.clear()
        for run in runs:
            steps = f"{run.step:,} / {run.total_steps:,}" if run.total_steps else f"{run.step:,}"
            psnr = f"{run.best_psnr:.2f} dB" if run.best_psnr is not None else ""
            item = QTreeWidgetItem([run.name, STATUS.get(run.status, run.status), steps, psnr, _when(run.updated)])
            item.setData(0, Qt.ItemDataRole.UserRole, str(run.path))
            tip = str(run.path) + (f"\n{run.message}" if run.message else "")
            if run.checkpoint_step is not None:
                tip += f"\nlast checkpoint at step {run.checkpoint_step:,}"
            item.setToolTip(0, tip)
            item.setToolTip(1, run.message or STATUS.get(run.status, ""))
            self.tree.addTopLevelItem(item)
            if selected is not None and run.path == selected.path:
                item.setSelected(True)
        for c in range(1, len(COLUMNS)):
            self.tree.resizeColumnToContents(c)
        self._update_buttons()
        self.refreshed.emit()

    def selected(self) -> RunInfo | None:
        """The selected run."""
        items = self.tree.selectedItems()
        if not items:
            return None
        path = items[0].data(0, Qt.ItemDataRole.UserRole)
        return next((r for r in self.runs if str(r.path) == path), None)

    def select(self, run_dir: str | Path) -> bool:
        """Select the run in ``run_dir``; False when it is not listed."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(Path(item.data(0, Qt.ItemDataRole.UserRole)) == Path(run_dir))
            if item.isSelected():
                self.tree.setCurrentItem(item)
                return True
        return False

    # -- actions ---------------------------------------------------------------------------------
    def _emit(self, signal) -> None:  # noqa: ANN001
        run = self.selected()
        if run is not None:
            signal.emit(str(run.path))

    def _update_buttons(self) -> None:
        run = self.selected()
        self.buttons["resume"].setEnabled(run is not None and run.resumable)
        self.buttons["show"].setEnabled(run is not None)
        self.buttons["compare"].setEnabled(run is not None and bool(run.models))
        self.buttons["folder"].setEnabled(run is not None)
        self.buttons["delete"].setEnabled(run is not None and run.status != "running")

    def _open_folder(self) -> None:
        run = self.selected()
        if run is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path)))

    def delete_selected(self, *, confirm: bool = True) -> bool:
        """Delete the selected run after asking; True when deleted."""
        run = self.selected()
        if run is None or run.status == "running":
            return False
        if confirm:
            answer = QMessageBox.question(self, "Delete run", f"Delete the run {run.name} and its checkpoints?\n{run.path}\n\n"
                                          "Models already added to the model picker are kept.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            delete_run(run.path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Delete run", str(exc))
            return False
        self.set_runs([r for r in self.runs if r.path != run.path])
        return True
