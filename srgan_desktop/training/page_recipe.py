"""Wizard page 3: the training recipe (a preset) and its key fields, each explained in plain words."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from srgan_desktop.training.page_base import DraftPage, draft_value
from srgan_desktop.training.page_model import HPARAM_CHOICES
from srgan_desktop.training.widgets import add_field, help_label
from trainer.config import AdversarialConfig, PixelLossConfig, field_choices
from trainer.train.support.config_draft import RECIPE_LABELS, use_pixel_loss

HELP = {
    "crop": "Side of the square pieces cut from your images. The model sees pieces {lr}×{lr} pixels large and "
            "must produce the {crop}×{crop} original. Larger pieces: more context, more memory.",
    "batch": "Pieces per learning step. Larger batches learn more smoothly but need more memory and time per step.",
    "ema": "The saved model is an average of the weights over the recent steps (0.999 ≈ the last thousand): steadier "
           "and usually a little better. 0 turns the averaging off.",
    "val": "Measure quality on the validation images every this many steps (0: only at the end of each phase).",
    "ckpt": "Save everything needed to resume every this many steps (0: only when a phase ends or you stop).",
    "iterations": "Learning steps in this phase. The paper uses a million; a few thousand already beat bicubic.",
    "time": "End the phase after this many minutes even if steps remain (0: no limit).",
    "lr": "How big each learning step is. Too high: unstable (the losses become NaN); too low: slow progress.",
    "pixel": "Compares the output with the original pixel by pixel. MSE gives the best PSNR; L1 slightly crisper "
             "edges. Weight 0 turns it off.",
    "lattice": "Penalises a fine grid (checkerboard) in the output: brightness that depends on the position "
               "within each block of output pixels made from one input pixel (4x4 at x4), which adversarial "
               "training tends to create. The shipped srgan_x4 used 500; 0 = off, as in the paper. 'batch' sees a "
               "grid every picture shares; 'image' also one that is brighter on some textures and darker on "
               "others (such a run needs a weight about ten times higher).",
    "content": "Compares what a VGG19 image-recognition network sees in the two images instead of their pixels: "
               "more natural textures (the SRGAN paper's 'perceptual' loss). Needs the ImageNet VGG19 weights file.",
    "adversarial": "A second network learns to tell the model's output from real photos, and the model learns to "
                   "fool it: sharper, more photo-like detail, lower PSNR. 'vanilla' is the SRGAN paper's; "
                   "'wgan-gp' is steadier; 'relativistic' is ESRGAN's.",
    "lr_d": "Learning-step size of the second (discriminator) network.",
    "shift": "Shows the discriminator both images moved by a random offset below this many pixels each step, so "
             "the model does not learn a fine grid pattern (checkerboard) from it. 16 suits the SRGAN discriminator; "
             "0 = off, as in the paper.",
    "feature_matching": "Compares what the discriminator itself sees in the output and in the original (its own "
                        "features), a learnt stand-in for the VGG19 content loss that needs no downloaded weights. "
                        "Needs the U-Net discriminator (unet_d, as in the no-VGG SRGAN preset); 0 = off.",
    "budget": "Caps what the adversarial training may cost in PSNR: while the model is more than this many dB "
              "below the one the phase started from (e.g. the SRResNet of the phase before), measured on the "
              "training pieces, the pixel loss is weighted up until it is back within the budget. Keeps a long "
              "GAN run from drifting into noise; 0 = off.",
}
PIXEL_TYPES = field_choices(PixelLossConfig, "type")
LATTICE_SCOPES = field_choices(PixelLossConfig, "lattice_scope")
GAN_TYPES = field_choices(AdversarialConfig, "type")


def _describe_model(arch: str, hparams: dict[str, Any]) -> str:
    parts = [f"{hparams['num_blocks']} blocks" if "num_blocks" in hparams else "",
             f"{hparams['channels']} channels" if "channels" in hparams else "",
             "bicubic skip" if hparams.get("bicubic_skip") else "",
             HPARAM_CHOICES["upsampler"][hparams["upsampler"]].lower()
             if hparams.get("upsampler", "pixelshuffle") != "pixelshuffle" else ""]
    inner = ", ".join(p for p in parts if p)
    return f"{arch} ({inner})" if inner else arch


class RecipePage(DraftPage):
    """A preset recipe plus the fields worth changing: crop, batch, EMA, and per phase the steps,
    learning rates, loss weights and GAN type."""

    page_name = "recipe"

    def __init__(self, owner) -> None:  # noqa: ANN001
        super().__init__(owner)
        self.setTitle("Recipe")
        self.setSubTitle("How the model learns. Start from a preset; the fields below change it.")
        self.fields: dict[str, QWidget] = {}
        self.recipe = QComboBox(self)
        self.recipe_help = help_label("", self)
        self.model_hint = QLabel(self)
        self.model_hint.setWordWrap(True)
        self.use_model = QPushButton("Use the preset's model", self)
        self.use_model.clicked.connect(self._use_recipe_model)
        hint_row = QHBoxLayout()
        hint_row.addWidget(self.model_hint, 1)
        hint_row.addWidget(self.use_model)
        self.body = QWidget(self)
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        form = QFormLayout()
        form.addRow("Preset", self.recipe)
        form.addRow("", self.recipe_help)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(hint_row)
        layout.addWidget(self.problem_box)
        layout.addWidget(scroll, 1)
        self.recipe.currentIndexChanged.connect(self._recipe_changed)

    def fixes(self) -> dict:
        return {"use_pixel_loss": ("Use the pixel loss instead (no VGG19 needed)", self._use_pixel_loss)}

    # -- building the fields ---------------------------------------------------------------------
    def load(self) -> None:
        from trainer.config import list_recipes

        d = self.draft
        self.recipe.clear()
        for name in list_recipes():
            self.recipe.addItem(RECIPE_LABELS.get(name, name), name)
        i = self.recipe.findData(d.recipe)
        if i < 0:
            self.recipe.addItem(f"{d.recipe} (loaded config)", d.recipe)
            i = self.recipe.count() - 1
        self.recipe.setCurrentIndex(i)
        self._build_fields()

    def _build_fields(self) -> None:
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fields = {}
        d = self.draft
        self.recipe_help.setText(d.base.description)
        crop, scale = int(draft_value(d, "data.crop")), int(draft_value(d, "data.scale"))
        common = QGroupBox("Every phase", self.body)
        form = QFormLayout(common)
        self.crop_help = add_field(form, "Crop (pixels)", self._int("data.crop", scale * 2, 1024, step=scale),
                                   HELP["crop"].format(lr=crop // scale, crop=crop))
        add_field(form, "Batch", self._int("data.batch_size", 1, 1024), HELP["batch"])
        add_field(form, "Weight averaging (EMA)", self._decimal("runtime.ema_decay", 0.0, 0.9999, 4), HELP["ema"])
        add_field(form, "Validate every", self._int("runtime.val_interval", 0, 10_000_000, suffix=" steps"), HELP["val"])
        add_field(form, "Checkpoint every", self._int("runtime.checkpoint_interval", 0, 10_000_000, suffix=" steps"), HELP["ckpt"])
        self.body_layout.addWidget(common)
        for i, phase in enumerate(d.base.phases):
            self.body_layout.addWidget(self._phase_box(i, phase.name))
        self.body_layout.addStretch(1)

    def _phase_box(self, i: int, name: str) -> QGroupBox:
        p = f"phases.{i}."
        box = QGroupBox(f"Phase {i + 1}: {name}", self.body)
        form = QFormLayout(box)
        add_field(form, "Steps", self._int(p + "iterations", 1, 100_000_000), HELP["iterations"])
        add_field(form, "Time limit", self._minutes(p + "time_limit_s"), HELP["time"])
        add_field(form, "Learning rate", self._float(p + "optimizer.lr"), HELP["lr"])
        pixel = QHBoxLayout()
        pixel.addWidget(self._choice(p + "pixel.type", PIXEL_TYPES))
        pixel.addWidget(QLabel("weight", box))
        pixel.addWidget(self._float(p + "pixel.weight"))
        add_field(form, "Pixel loss", pixel, HELP["pixel"])
        grid = QHBoxLayout()
        grid.addWidget(self._float(p + "pixel.lattice"))
        grid.addWidget(QLabel("measured per", box))
        grid.addWidget(self._choice(p + "pixel.lattice_scope", LATTICE_SCOPES))
        add_field(form, "Grid penalty", grid, HELP["lattice"])
        content = QHBoxLayout()
        content.addWidget(self._toggle(p + "content.type", "vgg", "none", "VGG19 content loss"))
        content.addWidget(QLabel("weight", box))
        content.addWidget(self._float(p + "content.weight"))
        add_field(form, "Content loss", content, HELP["content"])
        adv = QHBoxLayout()
        adv.addWidget(self._choice(p + "adversarial.type", GAN_TYPES))
        adv.addWidget(QLabel("weight", box))
        adv.addWidget(self._float(p + "adversarial.weight"))
        add_field(form, "Adversarial (GAN)", adv, HELP["adversarial"])
        add_field(form, "Discriminator shift", self._int(p + "adversarial.shift", 0, 64, suffix=" px"), HELP["shift"])
        add_field(form, "Feature matching", self._float(p + "adversarial.feature_matching"), HELP["feature_matching"])
        add_field(form, "Discriminator learning rate", self._float(p + "discriminator.optimizer.lr"), HELP["lr_d"])
        budget = self._decimal(p + "pixel.budget_db", 0.0, 10.0, 2)
        budget.setSuffix(" dB")
        budget.setSpecialValueText("off")
        add_field(form, "PSNR budget", budget, HELP["budget"])
        return box

    # -- field factories: each writes its dotted key into the draft ------------------------------
    def _int(self, key: str, low: int, high: int, *, step: int = 1, suffix: str = "") -> QSpinBox:
        w = QSpinBox(self.body)
        w.setRange(low, high)
        w.setSingleStep(step)
        w.setSuffix(suffix)
        w.setValue(int(draft_value(self.draft, key)))
        w.valueChanged.connect(lambda v, k=key: self.set_value(k, v))
        self.fields[key] = w
        return w

    def _minutes(self, key: str) -> QDoubleSpinBox:
        w = QDoubleSpinBox(self.body)
        w.setRange(0, 100_000)
        w.setDecimals(1)
        w.setSuffix(" min")
        w.setSpecialValueText("no limit")
        w.setValue(float(draft_value(self.draft, key)) / 60)
        w.valueChanged.connect(lambda v, k=key: self.set_value(k, round(v * 60, 1)))
        self.fields[key] = w
        return w

    def _decimal(self, key: str, low: float, high: float, decimals: int) -> QDoubleSpinBox:
        w = QDoubleSpinBox(self.body)
        w.setRange(low, high)
        w.setDecimals(decimals)
        w.setSingleStep(10 ** -decimals)
        w.setValue(float(draft_value(self.draft, key)))
        w.valueChanged.connect(lambda v, k=key: self.set_value(k, float(v)))
        self.fields[key] = w
        return w

    def _float(self, key: str) -> QLineEdit:
        """A number in any notation (1e-4, 0.0001); text that is not a number is reported by the config check."""
        w = QLineEdit(f"{float(draft_value(self.draft, key)):g}", self.body)
        w.setMaximumWidth(90)
        w.textEdited.connect(lambda text, k=key: self.set_value(k, _parse(text)))
        self.fields[key] = w
        return w

    def _choice(self, key: str, options: tuple[str, ...]) -> QComboBox:
        w = QComboBox(self.body)
        w.addItems(list(options))
        w.setCurrentText(str(draft_value(self.draft, key)))
        w.currentTextChanged.connect(lambda v, k=key: self._choice_changed(k, v))
        self.fields[key] = w
        return w

    def _toggle(self, key: str, on: str, off: str, text: str) -> QCheckBox:
        w = QCheckBox(text, self.body)
        w.setChecked(draft_value(self.draft, key) == on)
        w.toggled.connect(lambda checked, k=key: self.set_value(k, on if checked else off))
        self.fields[key] = w
        return w

    def _choice_changed(self, key: str, value: str) -> None:
        if key.endswith("adversarial.type") and not self._loading:
            # A WGAN-GP critic needs a per-sample gradient penalty: no BatchNorm in it.
            prefix = key.rsplit(".", 2)[0]
            hparams = dict(draft_value(self.draft, prefix + ".discriminator.hparams"))
            if draft_value(self.draft, prefix + ".discriminator.arch") == "srgan_d":
                hparams["norm"] = "none" if value == "wgan-gp" else "batch"
                self.draft.set(prefix + ".discriminator.hparams", hparams)
        self.set_value(key, value)

    # -- actions ---------------------------------------------------------------------------------
    def _recipe_changed(self, index: int) -> None:
        if self._loading or index < 0:
            return
        self.draft.set_recipe(self.recipe.itemData(index))
        self._rebuild_fields()

    def _rebuild_fields(self) -> None:
        """Rebuild the field editors for the draft (without reacting to their own signals), then refresh."""
        self._loading = True
        try:
            self._build_fields()
        finally:
            self._loading = False
        self.refresh()

    def _use_recipe_model(self) -> None:
        arch, hparams = self.draft.recipe_model()
        self.draft.set_model(arch, hparams)
        self.refresh()

    def _use_pixel_loss(self) -> None:
        use_pixel_loss(self.draft)
        self._rebuild_fields()

    def changed(self) -> None:
        d = self.draft
        arch, hparams = d.recipe_model()
        mine = (draft_value(d, "model.arch"), dict(draft_value(d, "model.hparams")))
        differs = mine != (arch, hparams) and not draft_value(d, "model.init_weights")
        self.model_hint.setVisible(differs)
        self.use_model.setVisible(differs)
        if differs:
            self.model_hint.setText(f"This preset was written for {_describe_model(arch, hparams)}; your model is "
                                    f"{_describe_model(*mine)}. Either works; the preset's runs at the speed it promises.")
        crop, scale = int(draft_value(d, "data.crop")), int(draft_value(d, "data.scale"))
        if getattr(self, "crop_help", None) is not None:
            self.crop_help.setText(HELP["crop"].format(lr=crop // scale, crop=crop))
        for key, w in self.fields.items():
            if key.endswith(("discriminator.optimizer.lr", "adversarial.weight", "adversarial.shift", "adversarial.feature_matching",
                             "pixel.budget_db")):
                phase = ".".join(key.split(".")[:2])  # "phases.N"
                w.setEnabled(draft_value(d, phase + ".adversarial.type") != "none")
            elif key.endswith("content.weight"):
                w.setEnabled(draft_value(d, key.rsplit(".", 1)[0] + ".type") == "vgg")


def _parse(text: str) -> Any:
    try:
        return float(text.strip())
    except ValueError:
        return text.strip()
