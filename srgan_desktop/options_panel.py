"""Options panel: model, comparison model, device, precision, output folder, output size, format,
quality, naming template, evaluation mode. Built from an :class:`AppSettings`, which it keeps up to date."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from srgan_desktop.fit import fit_combo
from srgan_desktop.settings import (
    FORMATS,
    OUT_PIXELS_MAX,
    OUT_PIXELS_MIN,
    OUT_SIZES,
    PRECISIONS,
    TILE_MAX,
    TILE_MIN,
    AppSettings,
)
from trainer.app.model_choices import Environment
from trainer.choices import BACKENDS
from trainer.naming import TemplateError, render_name, validate_template
from trainer.pipeline.models import AUTO, model_label

IMPORT = "__import__"
NONE = ""
BACKEND_LABELS = {"auto": "Automatic (PyTorch)", "torch": "PyTorch", "openvino": "OpenVINO"}
# Labels of the output sizes (settings.OUT_SIZES); width/height take their pixels from a spin box.
OUT_SIZE_LABELS = {"model": "Model's scale", "x2": "x2", "x3": "x3", "x4": "x4", "x8": "x8",
                   "width": "Width…", "height": "Height…"}


class OptionsPanel(QWidget):
    """Edits ``settings`` in place. ``changed()`` after every edit; ``import_requested()`` when the
    user picks "Import model file..." in a model picker; ``compare_requested()`` when the user picks
    a "Compare with" model."""

    changed = Signal()
    import_requested = Signal()
    compare_requested = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.environment: Environment | None = None
        self.model = QComboBox(self)
        self.model.addItem("Loading models…", NONE)
        self.model.setToolTip("Model used to upscale: Auto picks one per file (photos / clean images); "
                              "or a shipped model, one you trained or imported")
        self.compare = QComboBox(self)
        self.compare.addItem("—", NONE)
        self.compare.setToolTip("Second model for Compare models (Ctrl+M): shown on the other side of the divider")
        self.device = QComboBox(self)
        self.device.addItems(["auto", "cpu"])
        self.precision = QComboBox(self)
        self.precision.addItems(list(PRECISIONS))
        self.backend = QComboBox(self)
        for key in BACKENDS:
            self.backend.addItem(BACKEND_LABELS[key], key)
        self.tile = QSpinBox(self)
        self.tile.setRange(0, TILE_MAX)
        self.tile.setSingleStep(64)
        self.tile.setSpecialValueText("automatic")
        self.tile.setSuffix(" px")
        self.tile.setToolTip("Input pixels per tile side (as srgan-upscale --tile): smaller tiles need less memory; "
                             "automatic picks them from the free memory")
        self.output = QLineEdit(settings.output_dir, self)
        self.output.setToolTip("Results go here (the folder tree of a dropped folder is kept); originals are never overwritten")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self.browse_output)
        out_row = QHBoxLayout()
        out_row.setContentsMargins(0, 0, 0, 0)
        out_row.addWidget(self.output, 1)
        out_row.addWidget(browse)
        self.out_size = QComboBox(self)
        for key in OUT_SIZES:
            self.out_size.addItem(OUT_SIZE_LABELS[key], key)
        self.out_size.setToolTip("Size of the saved image: the model's own scale, a factor of the input, or a width or "
                                 "height in pixels (aspect kept, 1x-8x the input). The model runs at its scale, then "
                                 "its output is resampled (Lanczos), as srgan-upscale --out-scale/--out-width/--out-height")
        self.out_pixels = QSpinBox(self)
        self.out_pixels.setRange(OUT_PIXELS_MIN, OUT_PIXELS_MAX)
        self.out_pixels.setSingleStep(64)
        self.out_pixels.setSuffix(" px")
        self.out_pixels.setToolTip("Width or height of every saved image, in pixels")
        size_row = QHBoxLayout()
        size_row.setContentsMargins(0, 0, 0, 0)
        size_row.addWidget(self.out_size, 1)
        size_row.addWidget(self.out_pixels, 1)
        self.format = QComboBox(self)
        for fmt in FORMATS:
            self.format.addItem("same as input" if fmt == "same" else fmt.upper(), fmt)
        self.quality = QSpinBox(self)
        self.quality.setRange(1, 100)
        self.quality.setSuffix(" %")
        self.template = QLineEdit(settings.template, self)
        self.template.setToolTip("Fields: {stem} {scale} {model} {ext} {date}")
        self.template_hint = QLabel(self)
        self.template_hint.setWordWrap(True)
        self.evaluate = QCheckBox("Evaluation mode (image = ground truth)", self)
        self.evaluate.setToolTip("The app makes the LR input with the protocol's bicubic, upscales it and reports PSNR/SSIM against the image (Ctrl+E)")
        self.autostart = QCheckBox("Start when files are added", self)

        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.addRow("Model", self.model)
        form.addRow("Compare with", self.compare)
        form.addRow("Device", self.device)
        form.addRow("Backend", self.backend)
        form.addRow("Precision", self.precision)
        form.addRow("Tile size", self.tile)
        form.addRow("Output folder", out_row)
        form.addRow("Output size", size_row)
        form.addRow("Format", self.format)
        form.addRow("Quality", self.quality)
        form.addRow("File name", self.template)
        form.addRow("", self.template_hint)
        form.addRow(self.evaluate)
        form.addRow(self.autostart)
        self._load()
        self.model.activated.connect(self._on_model_activated)
        self.compare.activated.connect(self._on_compare_activated)
        self.device.currentTextChanged.connect(self._store)
        self.precision.currentTextChanged.connect(self._store)
        self.backend.currentIndexChanged.connect(self._store)
        self.tile.valueChanged.connect(self._store)
        self.output.editingFinished.connect(self._store)
        self.out_size.currentIndexChanged.connect(self._store)
        self.out_pixels.valueChanged.connect(self._store)
        self.format.currentIndexChanged.connect(self._store)
        self.quality.valueChanged.connect(self._store)
        self.template.textChanged.connect(self._store)
        self.evaluate.toggled.connect(self._store)
        self.autostart.toggled.connect(self._store)

    # -- settings <-> widgets ------------------------------------------------------------------
    def _load(self) -> None:
        s = self.settings
        self._select(self.device, s.device, add=True)
        self.precision.setCurrentText(s.precision)
        self.tile.setValue(s.tile)
        self._update_precision()
        self.out_size.setCurrentIndex(max(0, self.out_size.findData(s.out_size)))
        self.out_pixels.setValue(s.out_pixels)
        self.out_pixels.setVisible(s.out_size in ("width", "height"))
        self.format.setCurrentIndex(max(0, self.format.findData(s.format)))
        self.quality.setValue(s.quality)
        self.evaluate.setChecked(s.evaluate)
        self.autostart.setChecked(s.autostart)
        self._update_hint()

    def _store(self, *_args) -> None:
        s = self.settings
        s.device = self.device.currentText() or "auto"
        if self.precision.isEnabled():  # on the CPU the remembered choice stays for a GPU later
            s.precision = self.precision.currentText() or s.precision
        if self.backend.isEnabled():  # on a GPU the CPU backend choice stays for the CPU later
            s.backend = self.backend.currentData() or s.backend
        self._update_precision()  # for the device now chosen
        s.tile = self.tile.value() if self.tile.value() == 0 else max(TILE_MIN, self.tile.value())
        s.output_dir = self.output.text().strip() or s.output_dir
        s.out_size = self.out_size.currentData() or "model"
        s.out_pixels = self.out_pixels.value()
        self.out_pixels.setVisible(s.out_size in ("width", "height"))
        s.format = self.format.currentData() or "png"
        s.quality = self.quality.value()
        s.template = self.template.text()
        s.evaluate = self.evaluate.isChecked()
        s.autostart = self.autostart.isChecked()
        self.quality.setEnabled(s.format in ("jpg", "webp", "same"))
        self._update_hint()
        self.changed.emit()

    def _update_hint(self) -> None:
        try:
            validate_template(self.template.text())
        except TemplateError as exc:
            self.template_hint.setText(f"<span style='color:#d04040'>{exc}</span>")
            return
        fmt = self.settings.format if self.settings.format != "same" else "jpg"  # the example is a JPEG
        model = self.settings.model or "model"
        if model == AUTO and self.environment is not None and self.environment.auto is not None:
            model = self.environment.auto.photo  # what auto picks for a JPEG
        # {scale} is the output's scale: for a width or height, that of a 1000 x 750 photo.
        size = self.settings.output_size()
        scale = size.scale_label((1000, 750), 4)
        example = render_name(self.template.text(), Path("photo.jpg"), scale=scale, model=model_label(model))
        of = " (1000×750)" if size.width or size.height else ""
        self.template_hint.setText(f"e.g. photo.jpg{of} → {example}.{fmt}")

    def cpu_only(self) -> bool:
        """The chosen device computes on the CPU (also "auto" on a machine without an accelerator)."""
        device = self.device.currentText() or self.settings.device
        devices = self.environment.devices if self.environment is not None else ["auto", "cpu"]
        return device == "cpu" or (device == "auto" and all(d in ("auto", "cpu") for d in devices))

    def _update_precision(self) -> None:
        """Offer fp16/bf16 only where they differ: on the CPU the engine computes in fp32 anyway."""
        cpu = self.cpu_only()
        self.precision.blockSignals(True)
        self.precision.clear()
        self.precision.addItems(["fp32"] if cpu else list(PRECISIONS))
        self.precision.setCurrentText("fp32" if cpu else self.settings.precision)
        self.precision.blockSignals(False)
        self.precision.setEnabled(not cpu)
        self.precision.setToolTip("On the CPU the network runs in fp32 (OpenVINO runs fp32 only; PyTorch's fp16 "
                                  "and bf16 would only be slower)" if cpu else
                                  "auto: fp16 on graphics cards where it matches fp32, else fp32")
        self._update_backend(cpu)

    def _update_backend(self, cpu: bool) -> None:
        """The backend is a choice on the CPU only (OpenVINO runs there); a GPU runs PyTorch."""
        self.backend.blockSignals(True)
        self.backend.setCurrentIndex(max(0, self.backend.findData(self.settings.backend if cpu else "torch")))
        self.backend.blockSignals(False)
        self.backend.setEnabled(cpu)
        self.backend.setToolTip(
            "What runs the network on the CPU: Automatic = PyTorch. OpenVINO: about 1.3x faster on a warm "
            "image here, 1.07x on a folder of small images (checked against PyTorch on first use, PyTorch "
            "if it does not match), as srgan-upscale --backend" if cpu else
            "On a graphics card the network runs in PyTorch")

    @staticmethod
    def _select(combo: QComboBox, text: str, add: bool = False) -> None:
        i = combo.findText(text)
        if i < 0 and add:
            combo.addItem(text)
            i = combo.count() - 1
        if i >= 0:
            combo.setCurrentIndex(i)

    # -- models and devices --------------------------------------------------------------------
    def set_environment(self, env: Environment) -> None:
        """Fill the pickers once the core is loaded; keep the remembered choices when still valid."""
        self.environment = env
        names = [m.name for m in env.usable()]
        if self.settings.model not in names and not (self.settings.model == AUTO and env.auto is not None):
            self.settings.model = AUTO if env.auto is not None else env.default_model or ""
        if self.settings.compare_model not in names:
            self.settings.compare_model = ""
        self._fill(self.model)
        self._fill(self.compare)
        current = self.settings.device
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItems(env.devices)
        self.device.blockSignals(False)
        self._select(self.device, current if current in env.devices else "auto")
        self._store()

    def _fill(self, combo: QComboBox) -> None:
        """List the models in a picker. "Compare with" never offers the main model itself."""
        env = self.environment
        names = [m.name for m in env.usable()]
        main = self.settings.model
        if combo is self.compare and self.settings.compare_model == main:
            self.settings.compare_model = ""
        chosen = main if combo is self.model else self.settings.compare_model
        combo.blockSignals(True)
        combo.clear()
        if combo is self.compare:
            combo.addItem("—", NONE)
        elif not names:
            combo.addItem("No model: bicubic baseline only", NONE)
        if combo is self.model and env.auto is not None:
            combo.addItem(env.auto.label, AUTO)
            combo.setItemData(combo.count() - 1, env.auto.tooltip, Qt.ItemDataRole.ToolTipRole)
        for m in env.models:
            if combo is self.compare and m.name == main:
                continue
            combo.addItem(m.label, m.name)
            combo.setItemData(combo.count() - 1, m.tooltip, Qt.ItemDataRole.ToolTipRole)
            if m.error:
                combo.model().item(combo.count() - 1).setEnabled(False)
        combo.addItem("Import model file…", IMPORT)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
        combo.blockSignals(False)
        self._tip(combo)

    @staticmethod
    def _tip(combo: QComboBox) -> None:
        """The picker's tooltip: the chosen entry's full text and description, then what it is for;
        and the picker sized so that the chosen entry shows whole (the dock scrolls if need be)."""
        fit_combo(combo)
        base = combo.property("base_tip")
        if base is None:
            base = combo.toolTip()
            combo.setProperty("base_tip", base)
        i = combo.currentIndex()
        detail = combo.itemData(i, Qt.ItemDataRole.ToolTipRole) if i >= 0 else None
        combo.setToolTip("\n".join(t for t in (combo.currentText(), detail, base) if t))

    def _on_model_activated(self, index: int) -> None:
        data = self.model.itemData(index)
        if data == IMPORT:
            self.model.setCurrentIndex(max(0, self.model.findData(self.settings.model)))
            self.import_requested.emit()
            return
        self.settings.model = data or ""
        self._tip(self.model)
        if self.environment is not None:
            self._fill(self.compare)  # without the newly chosen main model
        self._store()

    def _on_compare_activated(self, index: int) -> None:
        data = self.compare.itemData(index)
        if data == IMPORT:
            self.compare.setCurrentIndex(max(0, self.compare.findData(self.settings.compare_model)))
            self.import_requested.emit()
            return
        self.settings.compare_model = data or ""
        self._tip(self.compare)
        self._store()
        if self.settings.compare_model:
            self.compare_requested.emit()  # choosing a second model runs the comparison

    def select_model(self, name: str) -> None:
        self.settings.model = name
        self.model.setCurrentIndex(max(0, self.model.findData(name)))
        self._tip(self.model)
        if self.environment is not None:
            self._fill(self.compare)
        self._store()

    def browse_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.settings.output_dir)
        if folder:
            self.output.setText(folder)
            self._store()
