"""The training monitor: progress, live curves, validation crops, controls and actionable errors.

The widget observes a :class:`MonitorState` (filled by a :class:`TrainingSession` for a live run,
or from the log of a past run) and redraws from a timer at :data:`REFRESH_HZ` when the state's
version changed, so a fast run never floods the GUI. Buttons call the session; error actions
(retry with a smaller batch, resume, ...) are emitted as ``action_requested(name)`` for the
controller that owns the runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from srgan_desktop.training.plots import TrainingPlots
from srgan_desktop.training.widgets import ERROR_STYLE, help_label, pixmap
from trainer.train.layout import CHECKPOINT_DIR, STEP_RE
from trainer.train.support.advice import Advice, advise
from trainer.train.support.run_state import MonitorState, ending_text, format_duration

if TYPE_CHECKING:
    from srgan_desktop.training.session import TrainingSession
    from trainer.config import TrainingConfig

REFRESH_HZ = 4
CROP_SIDE = 104
STATUS_TEXT = {"starting": "Starting…", "running": "Training", "paused": "Paused", "stopping": "Stopping…",
               "finished": "Finished", "stopped": "Stopped (resumable)", "time_limit": "Stopped at the time limit",
               "failed": "Failed",
               "interrupted": "Interrupted (resumable)"}


class SampleGrid(QWidget):
    """The validation crops: one row per image, columns LR (input, enlarged) / bicubic / SR / HR."""

    COLUMNS = ("LR input", "Bicubic", "Model (SR)", "Original (HR)")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(3)
        for c, text in enumerate(self.COLUMNS):
            self.grid.addWidget(help_label(text, self), 0, c, Qt.AlignmentFlag.AlignHCenter)
        self.cells: list[list[QLabel]] = []
        self.names: list[QLabel] = []
        self.placeholder = help_label("The same crops of the validation images are shown here after every validation.", self)
        self.grid.addWidget(self.placeholder, 1, 0, 1, 4)

    def set_samples(self, samples: tuple[Any, ...]) -> None:
        """Show ``SampleCrops`` (or their records); rows are reused from one validation to the next."""
        self.placeholder.setVisible(not samples)
        while len(self.cells) < len(samples):
            r = len(self.cells)
            row = []
            for c in range(4):
                label = QLabel(self)
                label.setFixedSize(CROP_SIDE, CROP_SIDE)
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                label.setFrameShape(QFrame.Shape.StyledPanel)
                self.grid.addWidget(label, 2 + 2 * r, c)
                row.append(label)
            name = help_label("", self)
            self.grid.addWidget(name, 3 + 2 * r, 0, 1, 4)
            self.cells.append(row)
            self.names.append(name)
        for r, row in enumerate(self.cells):
            visible = r < len(samples)
            for label in row:
                label.setVisible(visible)
            self.names[r].setVisible(visible)
            if visible:
                s = samples[r]
                for label, pixels in zip(row, (s.lr, s.bicubic, s.sr, s.hr)):
                    label.setPixmap(pixmap(pixels, CROP_SIDE))
                self.names[r].setText(s.name)


class ErrorPanel(QFrame):
    """A failed run: what happened, what to do, and buttons for the actions (``action(name)``)."""

    action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setStyleSheet(ERROR_STYLE)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons_row = QHBoxLayout()
        col = QVBoxLayout(self)
        col.addWidget(self.title)
        col.addWidget(self.text)
        col.addLayout(self.buttons_row)
        self.buttons: dict[str, QPushButton] = {}
        self.advice: Advice | None = None
        self.hide()

    def show_advice(self, advice: Advice | None) -> None:
        self.advice = advice
        while self.buttons_row.count():
            item = self.buttons_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = {}
        if advice is None:
            self.hide()
            return
        self.title.setText(advice.title)
        self.text.setText(advice.text)
        for a in advice.actions:
            button = QPushButton(a.label, self)
            button.clicked.connect(lambda _=False, name=a.name: self.action.emit(name))
            self.buttons_row.addWidget(button)
            self.buttons[a.name] = button
        self.buttons_row.addStretch(1)
        self.show()


class MonitorWidget(QWidget):
    """Shows one run. ``action_requested(name)``: an error action or ``open_model`` / ``new_run``."""

    action_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = None
        self.state = MonitorState(status="idle")
        self.config: TrainingConfig | None = None
        self._seen = (-1, -1)
        self._notices = 0

        self.title = QLabel("No training run yet", self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.title.setFont(font)
        self.status = QLabel(self)
        self.pause_button = QPushButton("Pause", self)
        self.stop_button = QPushButton("Stop", self)
        self.save_button = QPushButton("Save model now", self)
        self.model_button = QPushButton("Compare in viewer", self)
        self.folder_button = QPushButton("Open folder", self)
        self.pause_button.setToolTip("Pause after the current step; resume continues exactly there")
        self.stop_button.setToolTip("Stop after the current step, with a checkpoint and the current model saved; "
                                    "the run can be resumed later from the Training runs list")
        self.save_button.setToolTip("Save a checkpoint now and add the current model to the model picker")
        self.model_button.setToolTip("Upscale the shown image with this run's model, next to the current model")
        self.pause_button.clicked.connect(lambda: self.session and self.session.toggle_pause())
        self.stop_button.clicked.connect(lambda: self.session and self.session.stop())
        self.save_button.clicked.connect(lambda: self.session and self.session.save_now())
        self.model_button.clicked.connect(lambda: self.action_requested.emit("open_model"))
        self.folder_button.clicked.connect(self._open_folder)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.status)
        header.addStretch(1)
        for b in (self.pause_button, self.stop_button, self.save_button, self.model_button, self.folder_button):
            header.addWidget(b)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.stats = QLabel(self)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_panel = ErrorPanel(self)
        self.error_panel.action.connect(self.action_requested)
        self.plots = TrainingPlots(self)
        self.samples = SampleGrid(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setFont(QFont(self.log.font().family(), max(7, self.log.font().pointSize() - 1)))
        right = QWidget(self)
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        rcol.addWidget(self.samples)
        rcol.addWidget(self.log, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.plots)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        col.addLayout(header)
        col.addWidget(self.progress)
        col.addWidget(self.stats)
        col.addWidget(self.error_panel)
        col.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(1000 // REFRESH_HZ)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh(force=True)

    # -- what is shown ---------------------------------------------------------------------------
    def attach(self, state: MonitorState, session: TrainingSession | None = None, config: TrainingConfig | None = None) -> None:
        """Show ``state`` (a live run when ``session`` is given, else a past run's log)."""
        if self.session is not None and hasattr(self.session, "event"):
            try:
                self.session.event.disconnect(self._on_session_event)
            except (RuntimeError, TypeError):
                pass
        self.session, self.state, self.config = session, state, config
        if session is not None and hasattr(session, "event"):
            # The buttons follow the run at once (the redraw timer is 4 Hz: a quick run's first
            # steps would otherwise come and go while the buttons still show the idle state).
            session.event.connect(self._on_session_event)
        self.plots.clear()
        self.samples.set_samples(())
        self.log.clear()
        self._notices = 0
        self._seen = (-1, -1)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Redraw what changed (called by the timer; cheap when nothing did)."""
        s = self.state
        key = (s.version, s.samples_version)
        if key == self._seen and not force:
            self._update_buttons()  # the pause flag can change without an event
            return
        samples_changed = s.samples_version != self._seen[1]
        self._seen = key
        self.title.setText(s.name or "No training run yet")
        paused_soon = self.session is not None and self.session.control.paused and s.status == "running"
        status = STATUS_TEXT.get(s.status, "")
        if s.status in ("stopped", "time_limit"):  # say where it ended: the bar shows the real fraction
            status = ending_text(s.status, s.step, s.total_steps)
        self.status.setText(status if not paused_soon else "Pausing after this step…")
        self.progress.setValue(int(1000 * s.progress()))
        self.progress.setFormat(f"step {s.step:,} of {s.total_steps:,}" + (f" · phase {s.phase}" if s.phase else ""))
        self.stats.setText(self._stats_text())
        self.plots.refresh(s.history)
        if samples_changed:
            self.samples.set_samples(s.samples)
        if len(s.notices) > self._notices:
            for line in s.notices[self._notices:]:
                self.log.appendPlainText(line)
            self._notices = len(s.notices)
        self._update_error()
        self._update_buttons()

    def _stats_text(self) -> str:
        s = self.state
        parts = []
        if s.steps_per_second > 0:
            parts.append(f"{s.steps_per_second:.2f} steps/s · {s.images_per_second:.1f} images/s")
            if s.data_fraction >= 0.05:
                parts.append(f"waiting for data {100 * s.data_fraction:.0f}%")
        if s.active and s.status != "paused":
            parts.append(f"remaining {self.remaining_text()}")
        if s.psnr is not None:
            bic = s.history.bicubic_psnr
            ref = f" (bicubic {bic:.2f})" if bic is not None else ""
            parts.append(f"{s.dataset} PSNR {s.psnr:.2f} dB{ref}, SSIM {s.ssim:.4f}, best {s.best_psnr:.2f} dB")
        if s.skipped:
            parts.append(f"{s.skipped} non-finite steps skipped")
        return "   ·   ".join(parts) or (s.device and f"on {s.device}") or ""

    def remaining_text(self) -> str:
        """The remaining time from the shared estimate (the wizard's at the start, then the run's
        own measured speed of each phase), marked when a speed is a guess or a limit ends a phase."""
        est = self.state.estimate()
        if not est.known:
            return format_duration(None)
        guess = " (guess)" if est.guessed else ""
        limit = f", phase {', '.join(est.limited)} ends at its time limit" if est.limited else ""
        return f"{format_duration(est.seconds)}{guess}{limit}"

    def _update_error(self) -> None:
        err = self.state.error
        if err is None or self.state.status != "failed":
            if self.error_panel.advice is not None:
                self.error_panel.show_advice(None)
            return
        get = err.get if isinstance(err, dict) else lambda k, d=None: getattr(err, k, d)
        resumable = bool(self.state.last_checkpoint) or _has_checkpoint(self.state.run_dir)
        advice = advise(get("message", ""), get("exc_type", ""), self.config, resumable=resumable)
        if advice != self.error_panel.advice:
            self.error_panel.show_advice(advice)

    def _on_session_event(self, _event: Any) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        s, live = self.state, self.session is not None and not self.session.done
        controllable = live and s.status in ("starting", "running", "paused")
        self.pause_button.setEnabled(controllable)
        self.pause_button.setText("Resume" if live and self.session.control.paused else "Pause")
        self.stop_button.setEnabled(controllable)
        self.save_button.setEnabled(controllable and s.status != "starting")
        self.model_button.setVisible(bool(s.models))
        self.folder_button.setEnabled(bool(s.run_dir))

    def _open_folder(self) -> None:
        if self.state.run_dir:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.state.run_dir))


def _has_checkpoint(run_dir: str) -> bool:
    folder = Path(run_dir) / CHECKPOINT_DIR if run_dir else None
    return bool(folder and folder.is_dir() and any(STEP_RE.match(n) for n in os.listdir(folder)))
