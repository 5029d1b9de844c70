"""Wizard page 1: the training images (checked at once) and the validation images."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from srgan_desktop.training.page_base import DraftPage, draft_value
from srgan_desktop.training.widgets import help_label, image_label, pixmap
from srgan_desktop.worker import make_worker
from trainer.train.support.config_draft import Problem, benchmark_val_dir
from trainer.train.support.data_check import DataReport, ScanProgress, Thumbnail, preview_pairs, scan_training_folder

PREVIEW_SIDE = 120
# data.degradation choices offered here (the config also has bicubic-torch and gaussian, for experts).
DEGRADATIONS = {
    "bicubic": "Clean: bicubic 4× smaller copies (as the benchmarks; for clean images)",
    "realistic": "Realistic photos: random blur, resize, noise and JPEG (for phone and web photos)",
}
DEGRADATION_HELP = ("How the small training inputs are made from your images. Clean bicubic copies give the best "
                    "scores on clean images; realistic copies (blurred, noisy, JPEG-compressed twice, different each "
                    "step) teach the model to clean up photos as people have them instead of sharpening their JPEG "
                    "blocks and noise. Every range is a data.realistic setting.")


class DataPage(DraftPage):
    """Training folder (recursive) with its check, thumbnails and training-pair preview; validation choice."""

    page_name = "data"

    def __init__(self, owner) -> None:  # noqa: ANN001
        super().__init__(owner)
        self.setTitle("Training images")
        self.setSubTitle("Choose a folder of sharp, high-resolution pictures (sub-folders are included). The model "
                         "learns to rebuild them from copies made 4× smaller.")
        self.report: DataReport | None = None
        self._scan = None
        self._scanned_folder = ""

        self.folder = QLineEdit(self)
        self.folder.setPlaceholderText("Folder of training images")
        self.folder.editingFinished.connect(lambda: self.set_folder(self.folder.text()))
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        top = QHBoxLayout()
        top.addWidget(self.folder, 1)
        top.addWidget(browse)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.skipped = QListWidget(self)
        self.skipped.setMaximumHeight(70)
        self.skipped.hide()
        self.thumbs = QListWidget(self)
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(60, 60))
        self.thumbs.setFlow(QListWidget.Flow.LeftToRight)
        self.thumbs.setWrapping(False)
        self.thumbs.setFixedHeight(84)
        self.thumbs.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.thumbs.setMovement(QListWidget.Movement.Static)
        self.pairs_box = QWidget(self)
        self.pairs = QHBoxLayout(self.pairs_box)
        self.pairs.setContentsMargins(0, 0, 0, 0)
        self.pairs_note = help_label("", self)

        val = QGroupBox("Validation: images the model never trains on, used to measure its quality (PSNR/SSIM)", self)
        self.val_group = QButtonGroup(self)
        self.val_bench = QRadioButton("Set5 benchmark (5 standard images: results comparable with papers)", val)
        self.val_holdout = QRadioButton("Hold out some of my images:", val)
        self.holdout_n = QSpinBox(val)
        self.holdout_n.setRange(1, 1000)
        self.holdout_n.setSuffix(" images")
        self.val_folder = QRadioButton("Another folder:", val)
        self.val_path = QLineEdit(val)
        val_browse = QPushButton("Browse…", val)
        val_browse.clicked.connect(self._browse_val)
        self.val_none = QRadioButton("No validation (no quality curve, the model is not measured)", val)
        # data.val_degradation: a photo model is best chosen on photo-like inputs, not clean ones.
        self.val_web = QCheckBox("Measure on web-like copies (blur, noise, JPEG; as srgan-eval --degradation web)", val)
        self.val_web.setToolTip("Validation inputs get the seeded blur, noise and JPEG of the 'web' evaluation instead of "
                                "clean bicubic copies (data.val_degradation). Chosen with the realistic inputs above.")
        self.val_web.toggled.connect(self._val_web_changed)
        for i, (button, mode) in enumerate(((self.val_bench, "benchmark"), (self.val_holdout, "holdout"),
                                            (self.val_folder, "folder"), (self.val_none, "none"))):
            self.val_group.addButton(button, i)
            button.setProperty("mode", mode)
        if benchmark_val_dir() is None:
            self.val_bench.setEnabled(False)
            self.val_bench.setText("Set5 benchmark (not found on this computer)")
        vcol = QVBoxLayout(val)
        vcol.addWidget(self.val_bench)
        r1 = QHBoxLayout()
        r1.addWidget(self.val_holdout)
        r1.addWidget(self.holdout_n)
        r1.addStretch(1)
        vcol.addLayout(r1)
        r2 = QHBoxLayout()
        r2.addWidget(self.val_folder)
        r2.addWidget(self.val_path, 1)
        r2.addWidget(val_browse)
        vcol.addLayout(r2)
        vcol.addWidget(self.val_none)
        vcol.addWidget(self.val_web)
        self.val_group.idToggled.connect(self._val_changed)
        self.holdout_n.valueChanged.connect(self._val_changed)
        self.val_path.editingFinished.connect(self._val_changed)

        self.degradation = QComboBox(self)
        for key, label in DEGRADATIONS.items():
            self.degradation.addItem(label, key)
        self.degradation.setToolTip(DEGRADATION_HELP)
        self.degradation.currentIndexChanged.connect(self._degradation_changed)

        form = QFormLayout()
        form.addRow("Folder", top)
        form.addRow("Inputs", self.degradation)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.skipped)
        layout.addWidget(self.thumbs)
        layout.addWidget(QLabel("<b>Training pairs</b>: what the model is shown (left) and what it must produce (right)", self))
        layout.addWidget(self.pairs_box)
        layout.addWidget(self.pairs_note)
        layout.addWidget(val)
        layout.addWidget(self.problem_box)
        layout.addStretch(1)

    # -- draft <-> widgets ---------------------------------------------------------------------------
    def load(self) -> None:
        d = self.draft
        self.folder.setText(d.train_dir)
        buttons = {"benchmark": self.val_bench, "holdout": self.val_holdout, "folder": self.val_folder, "none": self.val_none}
        buttons[d.val_mode].setChecked(True)
        self.holdout_n.setValue(d.holdout)
        self.val_path.setText(d.val_folder)
        index = self.degradation.findData(draft_value(d, "data.degradation"))
        if index < 0:  # an expert value set in a config file: show it as it is
            value = draft_value(d, "data.degradation")
            self.degradation.addItem(str(value), value)
            index = self.degradation.count() - 1
        self.degradation.setCurrentIndex(index)
        self.val_web.setChecked(str(draft_value(d, "data.val_degradation")).startswith("web"))
        self.val_web.setEnabled(d.val_mode != "none")
        if d.train_dir and d.train_dir != self._scanned_folder:
            self.start_scan(d.train_dir)
        self._render_report()

    def _val_changed(self, *_args) -> None:
        if self._loading:
            return
        button = self.val_group.checkedButton()
        d = self.draft
        d.val_mode = button.property("mode") if button is not None else "none"
        d.holdout = self.holdout_n.value()
        d.val_folder = self.val_path.text().strip()
        self.val_web.setEnabled(d.val_mode != "none")  # nothing to measure without validation
        d.version += 1
        self.refresh()

    def _degradation_changed(self, *_args) -> None:
        if self._loading:
            return
        self.draft.set("data.degradation", self.degradation.currentData())
        # Realistic training inputs are measured on web-like ones, clean on clean (the user may untick it).
        self.val_web.setChecked(self.degradation.currentData() == "realistic")
        self._render_report()
        self.refresh()

    def _val_web_changed(self, checked: bool) -> None:
        if self._loading:
            return
        self.draft.set("data.val_degradation", "web" if checked else "bicubic")
        self.refresh()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training images", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.set_folder(folder)

    def _browse_val(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Validation folder", self.val_path.text())
        if folder:
            self.val_path.setText(folder)
            self.val_folder.setChecked(True)
            self._val_changed()

    def set_folder(self, folder: str) -> None:
        """Use ``folder`` for training and check it (in a worker)."""
        folder = folder.strip()
        if self.folder.text() != folder:
            self.folder.setText(folder)
        if folder == self.draft.train_dir and folder == self._scanned_folder:
            return
        self.draft.set("data.train_dir", folder)
        self.start_scan(folder)

    # -- the check -------------------------------------------------------------------------------
    def start_scan(self, folder: str) -> None:
        """Check ``folder`` in a worker thread (a previous check is abandoned)."""
        if self._scan is not None:
            self._scan.abort()
        self.report = None
        self.draft.known_usable_images = None
        self._scanned_folder = folder
        self.thumbs.clear()
        self.summary.setText(f"Checking the images in {folder}…" if folder else "")
        self.progress.setRange(0, 0)
        exists = bool(folder) and Path(folder).expanduser().is_dir()
        self.progress.setVisible(exists)
        self.refresh()
        if not exists:
            return
        handle = make_worker(scan_training_folder, folder, cancel_kwarg="cancel")
        handle.connect("yielded", lambda ev, h=handle: self._on_scan(h, ev))
        self._scan = handle
        handle.start()

    def _on_scan(self, handle, event) -> None:  # noqa: ANN001
        if handle is not self._scan:
            return  # a newer check replaced this one
        if isinstance(event, ScanProgress):
            self.progress.setRange(0, max(1, event.total))
            self.progress.setValue(event.done)
            self.progress.setFormat(f"checked %v of {event.total}")
        elif isinstance(event, Thumbnail):
            item = QListWidgetItem(QIcon(pixmap(event.pixels)), "")
            item.setToolTip(str(event.path))
            self.thumbs.addItem(item)
        elif isinstance(event, DataReport):
            self._scan = None
            self.report = event
            self.progress.hide()
            self._render_report()
            self.refresh()

    def crop_scale(self) -> tuple[int, int]:
        return int(draft_value(self.draft, "data.crop")), int(draft_value(self.draft, "data.scale"))

    def _render_report(self) -> None:
        while self.pairs.count():
            item = self.pairs.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        r = self.report
        if r is None:
            self.skipped.hide()
            self.pairs_note.setText("The preview appears when the folder has been checked.")
            return
        crop, scale = self.crop_scale()
        self.draft.known_usable_images = r.usable(crop)
        self.summary.setText(r.summary(crop))
        self.skipped.clear()
        for path, reason in r.unreadable:
            self.skipped.addItem(f"unreadable: {path} — {reason}")
        for path in r.too_small(crop):
            w, h = r.sizes[path]
            self.skipped.addItem(f"too small: {path} ({w}×{h} < {crop}×{crop})")
        self.skipped.setVisible(self.skipped.count() > 0)
        for pair in preview_pairs(r.samples, crop, scale, str(draft_value(self.draft, "data.degradation"))):
            lr_h, lr_w = pair.lr.shape[:2]
            self.pairs.addWidget(image_label(pair.lr, PREVIEW_SIDE, f"input {lr_w}×{lr_h}", self.pairs_box))
            self.pairs.addWidget(image_label(pair.hr, PREVIEW_SIDE, f"target {pair.hr.shape[1]}×{pair.hr.shape[0]}", self.pairs_box))
            self.pairs.addSpacing(12)
        self.pairs.addStretch(1)
        self.pairs_note.setText(f"Each training step shows the model a batch of random {crop // scale}×{crop // scale} inputs "
                                f"made from {crop}×{crop} crops of your images (flipped and rotated at random); the crop size "
                                "is set on the Recipe page.")

    def extra_problems(self) -> list[Problem]:
        r = self.report
        if r is not None and r.folder == Path(self.draft.train_dir).expanduser():
            crop, _ = self.crop_scale()
            if r.usable(crop) == 0:
                return [Problem("data", "data.train_dir", r.summary(crop))]
        return []

    def ready(self) -> bool:
        r = self.report
        return r is not None and not r.cancelled and r.folder == Path(self.draft.train_dir).expanduser()

    def cleanup(self) -> None:
        """Abandon a running check (the wizard closes)."""
        if self._scan is not None:
            self._scan.abort()
            self._scan = None
