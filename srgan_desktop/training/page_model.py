"""Wizard page 2: the generator (from the registry), its scale and size; scratch or fine-tuning."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from srgan_desktop.training.page_base import DraftPage, draft_value
from srgan_desktop.training.widgets import add_field, help_label

# Named starting points; every other registered generator is listed with its defaults.
PRESETS: list[tuple[str, str, dict[str, Any]]] = [
    ("SRResNet-16 (the SRGAN paper's generator)", "srresnet", {"num_blocks": 16, "channels": 64, "bicubic_skip": False}),
    ("Compact SRGAN generator (5 residual blocks)", "srresnet", {"num_blocks": 5, "channels": 64, "bicubic_skip": False}),
    ("Tiny SRResNet (4 blocks, 32 channels: quick tests)", "srresnet", {"num_blocks": 4, "channels": 32, "bicubic_skip": True}),
    ("WDRN (weighted dense residual network)", "wdrn", {"num_blocks": 5, "channels": 64, "bicubic_skip": False}),
    ("SRCNN (3 layers, the 2014 baseline)", "srcnn", {}),
    ("VDSR (20 layers, the 2016 baseline)", "vdsr", {}),
]
HPARAM_TEXT = {
    "num_blocks": ("Blocks", "More blocks: better detail, slower training and upscaling."),
    "channels": ("Width (channels)", "Features per layer. 64 is the paper's; 32 is 3–4× faster."),
    "bicubic_skip": ("Learn the detail over bicubic", "The network adds detail to a bicubic enlargement instead of "
                     "painting every pixel: learns much faster, same final quality."),
    "depth": ("Layers", "Convolution layers (VDSR uses 20)."),
    "mid_channels": ("Middle width", "Channels of SRCNN's middle layer."),
    "upsampler": ("Upsampler", "Resize + convolution gives every output pixel the same weights, so it cannot form "
                  "pixel shuffle's 4-pixel checkerboard; a pixel-shuffle model can be fine-tuned into one."),
}
# Text-valued hyperparameters the page offers as a list (value -> label); the trainer validates the values.
HPARAM_CHOICES = {
    "upsampler": {"pixelshuffle": "Pixel shuffle (the paper's)",
                  "bilinear_conv": "Bilinear resize + convolution",
                  "nearest_conv": "Nearest resize + convolution"},
}
SCALES = (2, 3, 4)


def generator_choices() -> list[tuple[str, str, dict[str, Any]]]:
    """Presets first, then any other registered generator (the registry decides what exists)."""
    from trainer import models

    names = models.list("generator")
    out = [p for p in PRESETS if p[1] in names]
    listed = {p[1] for p in out}
    out += [(f"{n}: {models.get(n).description}", n, {}) for n in names if n not in listed]
    return out


def count_parameters(arch: str, scale: int, hparams: dict[str, Any]) -> int | None:
    """Parameters of the generator (built without weights), None when it cannot be built."""
    from trainer import models

    try:
        return sum(p.numel() for p in models.build(arch, scale=scale, **hparams).parameters())
    except Exception:  # noqa: BLE001 - shown as a problem by the draft's checks
        return None


def _widget_value(w: QWidget) -> Any:
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QComboBox):
        return w.currentData()
    return w.value()


class ModelPage(DraftPage):
    """Architecture, scale and hyperparameters, or a shipped/user model to fine-tune."""

    page_name = "model"

    def __init__(self, owner) -> None:  # noqa: ANN001
        super().__init__(owner)
        self.setTitle("Model")
        self.setSubTitle("The network that will learn to upscale. Bigger networks give finer detail but train and run slower.")
        self.start_group = QButtonGroup(self)
        self.scratch = QRadioButton("Start from scratch (random weights)", self)
        self.finetune = QRadioButton("Fine-tune a model you have:", self)
        self.start_group.addButton(self.scratch, 0)
        self.start_group.addButton(self.finetune, 1)
        self.base_model = QComboBox(self)
        self.arch = QComboBox(self)
        self.arch_help = help_label("", self)
        self.scale = QComboBox(self)
        for s in SCALES:
            self.scale.addItem(f"×{s}", s)
        self.hparam_box = QWidget(self)
        self.hparam_form = QFormLayout(self.hparam_box)
        self.hparam_form.setContentsMargins(0, 0, 0, 0)
        self.hparam_widgets: dict[str, QWidget] = {}
        self.size_label = QLabel(self)

        form = QFormLayout()
        form.addRow(self.scratch)
        add_field(form, "", self._pair(self.finetune, self.base_model),
                  "Continue training a shipped model or one you trained: it starts good and adapts to your images.")
        add_field(form, "Architecture", self.arch)
        form.addRow("", self.arch_help)
        add_field(form, "Scale", self.scale, "How much larger the output is than the input (4× is the SRGAN paper's).")
        form.addRow(self.hparam_box)
        form.addRow("Size", self.size_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem_box)
        layout.addStretch(1)

        self.choices = generator_choices()
        for label, arch, _ in self.choices:
            self.arch.addItem(label, arch)
        self.start_group.idToggled.connect(self._start_changed)
        self.base_model.currentIndexChanged.connect(self._start_changed)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.scale.currentIndexChanged.connect(self._scale_changed)

    @staticmethod
    def _pair(a: QWidget, b: QWidget) -> QWidget:
        from srgan_desktop.training.widgets import row

        box = QWidget()
        box.setLayout(row(a, b, stretch=1))
        return box

    # -- draft -> widgets ------------------------------------------------------------------------
    def load(self) -> None:
        from trainer import zoo

        d = self.draft
        self.base_model.clear()
        for m in zoo.list_models():
            if m.error is None and m.metadata.get("arch") in {c[1] for c in self.choices}:
                origin = "shipped" if m.source == "shipped" else "yours"
                self.base_model.addItem(f"{m.name} ({m.metadata.get('arch')} ×{m.scale}, {origin})", str(m.path))
        init = str(draft_value(d, "model.init_weights") or "")
        self.finetune.setEnabled(self.base_model.count() > 0)
        self.base_model.setEnabled(bool(init))
        if init:
            self.finetune.setChecked(True)
            i = self.base_model.findData(init)
            if i < 0:
                self.base_model.addItem(init, init)
                i = self.base_model.count() - 1
            self.base_model.setCurrentIndex(i)
        else:
            self.scratch.setChecked(True)
        arch = draft_value(d, "model.arch")
        hparams = dict(draft_value(d, "model.hparams"))
        self.arch.setCurrentIndex(self._choice_index(arch, hparams))
        self.scale.setCurrentIndex(max(0, self.scale.findData(int(draft_value(d, "data.scale")))))
        self._build_hparams(arch, hparams)
        self._lock(bool(init))

    def _choice_index(self, arch: str, hparams: dict[str, Any]) -> int:
        for i, (_, a, preset) in enumerate(self.choices):
            if a == arch and all(hparams.get(k) == v for k, v in preset.items()):
                return i
        return next((i for i, c in enumerate(self.choices) if c[1] == arch), 0)

    def _build_hparams(self, arch: str, values: dict[str, Any]) -> None:
        from trainer import models

        while self.hparam_form.rowCount():
            self.hparam_form.removeRow(0)
        self.hparam_widgets = {}
        defaults = {k: v for k, v in models.get(arch).defaults().items() if k != "scale"}
        for key, default in defaults.items():
            value = values.get(key, default)
            title, text = HPARAM_TEXT.get(key, (key, ""))
            if isinstance(default, bool):
                w: QWidget = QCheckBox(self.hparam_box)
                w.setChecked(bool(value))
                w.toggled.connect(self._hparams_changed)
            elif isinstance(default, int):
                w = QSpinBox(self.hparam_box)
                w.setRange(1, 512)
                w.setValue(int(value))
                w.valueChanged.connect(self._hparams_changed)
            elif key in HPARAM_CHOICES:
                w = QComboBox(self.hparam_box)
                for choice, label in HPARAM_CHOICES[key].items():
                    w.addItem(label, choice)
                w.setCurrentIndex(max(0, w.findData(value)))
                w.currentIndexChanged.connect(self._hparams_changed)
            else:
                continue  # other strings and floats keep the recipe's value (not a novice's choice)
            self.hparam_widgets[key] = w
            add_field(self.hparam_form, title, w, text)

    def hparams(self) -> dict[str, Any]:
        """The hyperparameters set by the widgets (the others keep the architecture's defaults)."""
        return {key: _widget_value(w) for key, w in self.hparam_widgets.items()}

    def _lock(self, locked: bool) -> None:
        """Fine-tuning: the file decides the network, except what a start from it can change."""
        for w in (self.arch, self.scale, *self.hparam_widgets.values()):
            w.setEnabled(not locked)
        if locked and "upsampler" in self.hparam_widgets:
            self.hparam_widgets["upsampler"].setEnabled(len(self._init_choices("upsampler")) > 1)

    def _init_choices(self, key: str) -> list[Any]:
        """Values of ``key`` the fine-tuned file can start (pixel shuffle fits a resize-convolution;
        the reverse is not offered): :func:`trainer.train.setup.init_compatible` decides."""
        from trainer.modelfile import read_metadata
        from trainer.train.setup import init_compatible

        meta = read_metadata(self._init_weights())
        src = {k: v for k, v in meta.get("hparams", {}).items() if k != "scale"}
        return [c for c in HPARAM_CHOICES[key]
                if init_compatible(meta["arch"], src, meta["arch"], {**src, **self.hparams(), key: c})]

    # -- widgets -> draft ------------------------------------------------------------------------
    def _arch_changed(self, index: int) -> None:
        if self._loading or index < 0:
            return
        _, arch, preset = self.choices[index]
        self._build_hparams(arch, preset)
        self.draft.set_model(arch, self.hparams(), self._init_weights())
        self.refresh()

    def _hparams_changed(self, *_args) -> None:
        if self._loading:
            return
        self.draft.set_model(self.arch.currentData(), self.hparams(), self._init_weights())
        self.refresh()

    def _scale_changed(self, index: int) -> None:
        if self._loading or index < 0:
            return
        self.set_scale(int(self.scale.currentData()))

    def set_scale(self, scale: int) -> None:
        """Set the scale; the crop moves to the nearest multiple of it (a crop must divide evenly)."""
        d = self.draft
        d.set("data.scale", scale)
        crop = int(draft_value(d, "data.crop"))
        if crop % scale:
            d.set("data.crop", max(2 * scale, round(crop / scale) * scale))
        self.refresh()

    def _init_weights(self) -> str:
        return str(self.base_model.currentData() or "") if self.finetune.isChecked() else ""

    def _start_changed(self, *_args) -> None:
        if self._loading:
            return
        path = self._init_weights()
        self.base_model.setEnabled(self.finetune.isChecked())
        if path:
            from trainer.modelfile import read_metadata

            meta = read_metadata(path)
            # A finished model's lattice notch (and the reference it carries) is not trained on.
            hp = {k: v for k, v in meta.get("hparams", {}).items() if k not in ("scale", "lattice_notch")}
            self._loading = True
            try:
                self.arch.setCurrentIndex(self._choice_index(meta["arch"], hp))
                self._build_hparams(meta["arch"], hp)
                self.scale.setCurrentIndex(max(0, self.scale.findData(int(meta.get("scale", 4)))))
            finally:
                self._loading = False
            self.draft.set_model(meta["arch"], hp, path)
            self.set_scale(int(meta.get("scale", 4)))
        else:
            self.draft.set_model(self.arch.currentData(), self.hparams())
            self.refresh()
        self._lock(bool(path))

    def changed(self) -> None:
        from trainer import models

        arch = self.arch.currentData()
        if arch:
            self.arch_help.setText(models.get(arch).description)
            n = count_parameters(arch, int(draft_value(self.draft, "data.scale")), self.hparams())
            self.size_label.setText(f"{n / 1e6:.2f} million parameters" if n is not None else "—")
