"""The training wizard: Data, Model, Recipe, Hardware, Summary; it produces a ``TrainingConfig``.

Every page edits one :class:`ConfigDraft`; a page's Next button is enabled only when the draft has
no problem on that page, and the problem is explained there (with a fix button where one exists).
"Start training" emits :attr:`TrainingWizard.start_requested` with a :class:`StartRequest`; the
wizard itself starts nothing, so the monitor that runs the training outlives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget, QWizard

from srgan_desktop.fit import install_wheel_guard, resize_within_screen
from srgan_desktop.training.page_data import DataPage
from srgan_desktop.training.page_hardware import HardwarePage
from srgan_desktop.training.page_model import ModelPage
from srgan_desktop.training.page_recipe import RecipePage
from srgan_desktop.training.page_summary import SummaryPage
from trainer.train.support.config_draft import ConfigDraft
from trainer.train.support.estimate import describe
from trainer.train.support.probe import seconds_per_step
from trainer.train.support.run_state import format_duration

if TYPE_CHECKING:  # the config module is light, but typing needs no import at run time
    from trainer.config import TrainingConfig


@dataclass(frozen=True)
class StartRequest:
    """What the wizard asks to run: the config as the run will use it (a hold-out split is its
    ``data.holdout``), the run folder and the probe's measured seconds per step of each phase
    (empty when not measured), with which the monitor's estimate starts."""

    config: TrainingConfig
    run_dir: Path
    speed: dict[str, float] = field(default_factory=dict)


class TrainingWizard(QWizard):
    """``start_requested(StartRequest)`` when the user clicks "Start training".

    ``auto_probe``: measure the speed as soon as the Hardware page opens (tests switch it off).
    """

    start_requested = Signal(object)

    def __init__(self, draft: ConfigDraft | None = None, parent: QWidget | None = None, *, auto_probe: bool = True) -> None:
        super().__init__(parent)
        self.draft = draft if draft is not None else ConfigDraft()
        self.auto_probe = auto_probe
        self.setWindowTitle("New training run")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "Load config…")
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start training")
        self.customButtonClicked.connect(lambda which: self.load_config_dialog())
        self.data_page, self.model_page, self.recipe_page = DataPage(self), ModelPage(self), RecipePage(self)
        self.hardware_page, self.summary_page = HardwarePage(self), SummaryPage(self)
        self.pages = {"data": self.data_page, "model": self.model_page, "recipe": self.recipe_page,
                      "hardware": self.hardware_page, "summary": self.summary_page}
        for page in self.pages.values():
            self.addPage(page)
        self.finished.connect(self._cleanup)
        resize_within_screen(self, 880, 760)
        install_wheel_guard()  # a wheel scrolls the page; it changes a field only when focused

    def showEvent(self, event) -> None:  # noqa: N802, ANN001
        super().showEvent(event)
        if not getattr(self, "_sized", False):  # QWizard sizes itself to its pages when first shown
            self._sized = True
            resize_within_screen(self, 880, 760)

    def estimate_text(self) -> str:
        """"Estimated training time: ..." when the speed was measured for the current settings."""
        est = self.hardware_page.run_estimate()
        return f"Estimated training time: {describe(est, format_duration(est.seconds))}." if est else ""

    def measured_speed(self) -> dict[str, float]:
        """The probe's seconds per step of each phase (empty until measured for these settings);
        the monitor starts its estimate from them, so both agree when the run starts."""
        hw = self.hardware_page
        return seconds_per_step(hw.result) if hw.run_estimate() is not None else {}

    # -- loading a saved config ------------------------------------------------------------------
    def load_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a training config", "", "TOML files (*.toml);;All files (*)")
        if path:
            try:
                self.load_config(path)
            except Exception as exc:  # noqa: BLE001 - a bad file is a message, not a crash
                QMessageBox.warning(self, "Cannot load the config", str(exc))

    def load_config(self, path: str | Path) -> None:
        """Replace the draft with a saved config and go back to the first page to review it."""
        from trainer.config import load

        self.draft = ConfigDraft.from_config(load(path))
        self.restart()

    # -- finishing -------------------------------------------------------------------------------
    def request(self) -> StartRequest:
        """The :class:`StartRequest` of the current draft (raises ConfigError when invalid)."""
        d = self.draft
        return StartRequest(d.build(), d.run_dir, self.measured_speed())

    def accept(self) -> None:
        problems = self.draft.problems() + self.data_page.extra_problems()
        if problems or not self.data_page.ready():
            return  # the Finish button is disabled then; this guards programmatic calls
        request = self.request()
        super().accept()
        self.start_requested.emit(request)

    def _cleanup(self) -> None:
        self.data_page.cleanup()
        self.hardware_page.cleanup()
