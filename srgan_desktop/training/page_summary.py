"""Wizard page 5: the run's name and folder, and the config as TOML (copy, save, load)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout

from srgan_desktop.training.page_base import DraftPage
from srgan_desktop.training.widgets import add_field, row


class SummaryPage(DraftPage):
    """Name and folder of the run; the complete config (what ``srgan-train --config`` reads)."""

    page_name = "summary"

    def __init__(self, owner) -> None:  # noqa: ANN001
        super().__init__(owner)
        self.setTitle("Summary")
        self.setSubTitle("Check the plan and start. The run can be paused, stopped and resumed at any time.")
        self.name = QLineEdit(self)
        self.folder = QLineEdit(self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.plan = QLabel(self)
        self.plan.setWordWrap(True)
        self.toml = QPlainTextEdit(self)
        self.toml.setReadOnly(True)
        self.toml.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy = QPushButton("Copy", self)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.toml.toPlainText()))
        self.save = QPushButton("Save as…", self)
        self.save.clicked.connect(self._save)
        self.load_button = QPushButton("Load a saved config…", self)
        self.load_button.clicked.connect(self.owner.load_config_dialog)

        form = QFormLayout()
        add_field(form, "Run name", self.name, "Also the name of the finished model in the model picker.")
        add_field(form, "Runs folder", row(self.folder, browse, stretch=0),
                  "The run writes its checkpoints, log and models into a folder of this name here.")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plan)
        layout.addWidget(QLabel("Configuration (TOML; the same file is saved in the run folder and can be run with "
                                "<tt>srgan-train --config FILE</tt>):", self))
        layout.addWidget(self.toml, 1)
        layout.addLayout(row(self.copy, self.save, self.load_button))
        layout.addWidget(self.problem_box)
        self.name.textEdited.connect(self._name_changed)
        self.folder.editingFinished.connect(self._folder_changed)

    def load(self) -> None:
        self.name.setText(self.draft.run_name)
        self.folder.setText(str(self.draft.runs_root))

    def _name_changed(self, text: str) -> None:
        self.draft.run_name = text.strip()
        self.draft.version += 1
        self.refresh()

    def _folder_changed(self) -> None:
        text = self.folder.text().strip()
        if text:
            self.draft.runs_root = Path(text).expanduser()
            self.draft.version += 1
            self.refresh()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self._folder_changed()

    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the training config", f"{self.draft.run_name}.toml",
                                              "TOML files (*.toml);;All files (*)")
        if path:
            self.save_to(path)

    def save_to(self, path: str | Path) -> Path:
        """Write the config (as the run will use it) to ``path``."""
        from trainer.config import save

        return save(self.draft.build(), path)

    def changed(self) -> None:
        try:
            config = self.draft.build()
            text = self.draft.to_toml()
        except Exception as exc:  # noqa: BLE001 - the problem box names the field
            self.toml.setPlainText(f"# the configuration is not valid yet:\n# {exc}")
            self.plan.setText("")
            self.save.setEnabled(False)
            return
        self.save.setEnabled(True)
        if text != self.toml.toPlainText():
            self.toml.setPlainText(text)
        self.plan.setText(plan_text(self.draft, config, self.owner.estimate_text()))


def plan_text(draft, config, estimate: str) -> str:  # noqa: ANN001 - ConfigDraft, TrainingConfig
    """The plan in one paragraph of plain words."""
    hp = config.model.hparams
    size = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in hp.items() if not isinstance(v, bool))
    start = f"starting from {Path(config.model.init_weights).stem}" if config.model.init_weights else "from scratch"
    phases = "; then ".join(f"{p.name}: {p.iterations:,} steps of {_losses(p)}" for p in config.phases)
    val = {"benchmark": "validated on Set5", "holdout": f"validated on {draft.holdout} held-out images",
           "folder": f"validated on {Path(draft.val_folder).name}", "none": "not validated"}[draft.val_mode]
    images = f"{draft.known_usable_images} images" if draft.known_usable_images is not None else "the images"
    text = (f"Train <b>{config.model.arch}</b> ({size}) ×{config.data.scale} {start}, on {images} of "
            f"<tt>{Path(draft.train_dir).name}</tt>, {val}. {phases}.")
    if draft.val_mode == "holdout":
        text += " The held-out images are never trained on; the trainer picks them (the same ones on every resume)."
    return text + (f" <b>{estimate}</b>" if estimate else "")


def _losses(phase) -> str:  # noqa: ANN001
    parts = []
    if phase.pixel.weight > 0:
        parts.append(f"{phase.pixel.type.upper()} pixel loss")
    if phase.content.type == "vgg":
        parts.append("VGG content loss")
    if phase.is_gan:
        parts.append(f"{phase.adversarial.type} adversarial loss")
    return " + ".join(parts) or "no loss"
