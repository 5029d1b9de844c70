"""The training wizard: each page checks its choices, explains problems there, and the wizard
produces the expected ``TrainingConfig``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from test_training_support import make_images, tiny_overrides

from srgan_desktop.training.wizard import StartRequest, TrainingWizard
from trainer.train.support.config_draft import ConfigDraft


@pytest.fixture()
def no_vgg(tmp_path, monkeypatch):
    """An empty torch hub folder: the ImageNet VGG19 weights are missing."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"


@pytest.fixture()
def wizard(qtbot, env_dirs, no_vgg):
    w = TrainingWizard(ConfigDraft("quick"), auto_probe=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def _next_enabled(w: TrainingWizard) -> bool:
    return w.button(QWizard.WizardButton.NextButton).isEnabled()


def _check(qtbot, w: TrainingWizard, folder: Path) -> None:
    w.data_page.set_folder(str(folder))
    qtbot.waitUntil(w.data_page.ready, timeout=20000)


def test_data_page_checks_the_folder_at_once_and_explains_problems(qtbot, wizard, tmp_path):
    folder = make_images(tmp_path / "photos", n=4, size=(80, 72))
    make_images(folder / "small", n=1, size=(30, 30), seed=1)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    page = wizard.data_page
    assert not _next_enabled(wizard)  # no folder yet
    _check(qtbot, wizard, folder)
    assert "5 readable images" in page.summary.text() and "1 smaller than the 64×64 crop" in page.summary.text()
    skipped = [page.skipped.item(i).text() for i in range(page.skipped.count())]
    assert any("broken.jpg" in s and s.startswith("unreadable") for s in skipped)
    assert any("img00.png (30×30 < 64×64)" in s for s in skipped)
    assert page.thumbs.count() == 5
    assert page.pairs.count() >= 6  # three (input, target) pairs and spacers
    qtbot.waitUntil(lambda: _next_enabled(wizard))
    assert wizard.draft.build().data.train_dir == str(folder)

    page.val_holdout.setChecked(True)
    page.holdout_n.setValue(4)  # 4 usable images: none left to train on
    assert not _next_enabled(wizard) and "leaves none" in page.problem_box.messages[0]
    page.holdout_n.setValue(1)
    assert _next_enabled(wizard)
    request = wizard.request()
    # The trainer holds the images out (data.holdout): no links, the run trains on the chosen folder.
    data = request.config.data
    assert (data.holdout, data.train_dir, data.val_dir) == (1, str(folder), "")

    empty = tmp_path / "empty"
    empty.mkdir()
    _check(qtbot, wizard, empty)
    assert not _next_enabled(wizard) and "No images found" in page.problem_box.messages[0]


def test_data_page_offers_the_realistic_degradation_and_previews_it(qtbot, wizard, tmp_path):
    folder = make_images(tmp_path / "photos", n=3, size=(80, 72))
    page = wizard.data_page
    _check(qtbot, wizard, folder)
    assert page.degradation.currentData() == "bicubic" and wizard.draft.build().data.degradation == "bicubic"

    def inputs():  # the model's inputs: the first image of each (input, target) pair
        from PySide6.QtWidgets import QLabel

        boxes = [page.pairs.itemAt(i).widget() for i in range(page.pairs.count())]
        boxes = [b for b in boxes if b is not None]
        return [next(lab.pixmap().toImage() for lab in b.findChildren(QLabel) if not lab.pixmap().isNull()) for b in boxes[::2]]

    clean = inputs()
    page.degradation.setCurrentIndex(page.degradation.findData("realistic"))
    assert wizard.draft.build().data.degradation == "realistic"
    # Realistic inputs are validated on web-like copies; the user can untick it.
    assert page.val_web.isChecked() and wizard.draft.build().data.val_degradation == "web"
    page.val_web.setChecked(False)
    assert wizard.draft.build().data.val_degradation == "bicubic"
    page.val_web.setChecked(True)
    page.val_none.setChecked(True)
    assert not page.val_web.isEnabled()
    page.val_holdout.setChecked(True)
    assert page.val_web.isEnabled()
    degraded = inputs()
    assert clean and len(degraded) == len(clean) and any(a != b for a, b in zip(clean, degraded))
    # The photo recipe brings the realistic degradation with it, and the page shows it.
    wizard.draft.unset("data.degradation")
    wizard.draft.set_recipe("photo")
    page.initializePage()
    assert page.degradation.currentData() == "realistic" and page.val_web.isChecked()


def test_model_page_offers_the_registry_and_sets_scale_and_size(qtbot, wizard, tmp_path):
    from trainer import models

    _check(qtbot, wizard, make_images(tmp_path / "photos", n=2))
    wizard.next()
    page = wizard.model_page
    assert wizard.currentPage() is page
    archs = {page.arch.itemData(i) for i in range(page.arch.count())}
    assert archs == set(models.list("generator"))
    compact = next(i for i in range(page.arch.count()) if "5 residual blocks" in page.arch.itemText(i))
    page.arch.setCurrentIndex(compact)
    config = wizard.draft.build()
    assert (config.model.arch, config.model.hparams["num_blocks"], config.model.hparams["channels"]) == ("srresnet", 5, 64)
    page.hparam_widgets["num_blocks"].setValue(3)
    assert wizard.draft.build().model.hparams["num_blocks"] == 3
    assert "million parameters" in page.size_label.text()
    page.scale.setCurrentIndex(page.scale.findData(3))
    config = wizard.draft.build()
    assert config.data.scale == 3 and config.data.crop % 3 == 0  # the crop follows the scale
    page.arch.setCurrentIndex(page.arch.findData("vdsr"))
    page.hparam_widgets["depth"].setValue(6)
    assert wizard.draft.build().model.arch == "vdsr" and wizard.draft.build().model.hparams["depth"] == 6
    assert _next_enabled(wizard)


def _model_page(qtbot, photos: Path):
    """A fresh wizard (quick recipe) on its model page, after the data page checked ``photos``."""
    w = TrainingWizard(ConfigDraft("quick"), auto_probe=False)
    qtbot.addWidget(w)
    w.show()
    _check(qtbot, w, make_images(photos, n=2))
    w.next()
    return w, w.model_page


def test_model_page_fine_tunes_a_user_model(qtbot, env_dirs, no_vgg, tmp_path):
    from trainer.modelfile import save_model
    from trainer.models import build_model

    # A finished model with a lattice notch (as the shipped srgan_x4): fine-tuning trains its own network only.
    model = build_model("srresnet", scale=2, num_blocks=2, channels=8, lattice_notch=8.0)
    path = save_model(model, env_dirs["user"] / "models" / "mine_x2.safetensors")
    w, page = _model_page(qtbot, tmp_path / "photos")
    assert page.base_model.count() == 1
    page.finetune.setChecked(True)
    config = w.draft.build()
    assert config.model.init_weights == str(path) and config.data.scale == 2
    assert config.model.hparams == {"num_blocks": 2, "channels": 8, "bicubic_skip": False, "upsampler": "pixelshuffle"}
    assert not page.arch.isEnabled()  # the file decides the architecture
    w.close()


def test_recipe_page_presets_fields_and_the_missing_vgg_explained(qtbot, wizard, tmp_path, no_vgg):
    _check(qtbot, wizard, make_images(tmp_path / "photos", n=2))
    wizard.next()
    wizard.next()
    page = wizard.recipe_page
    page.recipe.setCurrentIndex(page.recipe.findData("srgan"))
    assert wizard.draft.recipe == "srgan" and len(wizard.draft.build().phases) == 2
    # The paper's VGG loss without the weights: said on this page, with the file and where it goes.
    assert not _next_enabled(wizard)
    message = page.problem_box.messages[0]
    assert "vgg19-dcbb9e9d.pth" in message and str(no_vgg.parent) in message
    page.fields["phases.0.iterations"].setValue(1234)
    page.fields["phases.1.adversarial.weight"].setText("0.005")
    page.fields["phases.1.adversarial.weight"].textEdited.emit("0.005")
    assert not page.fields["phases.0.adversarial.shift"].isEnabled()  # phase 1 has no discriminator
    page.fields["phases.1.adversarial.shift"].setValue(16)
    assert not page.fields["phases.0.adversarial.feature_matching"].isEnabled()
    page.fields["phases.1.pixel.lattice"].textEdited.emit("500")
    scope = page.fields["phases.1.pixel.lattice_scope"]
    scope.setCurrentIndex(scope.findText("image"))
    page.fields["data.batch_size"].setValue(8)
    page.problem_box.buttons["use_pixel_loss"].click()
    assert _next_enabled(wizard)
    config = wizard.draft.build()
    gan = config.phases[1]
    assert config.phases[0].iterations == 1234 and config.data.batch_size == 8
    assert gan.adversarial.weight == 0.005 and gan.adversarial.type == "vanilla" and gan.adversarial.shift == 16
    assert config.phases[0].adversarial.shift == 0
    assert gan.pixel.lattice == 500 and config.phases[0].pixel.lattice == 0
    assert gan.pixel.lattice_scope == "image" and config.phases[0].pixel.lattice_scope == "batch"
    assert gan.content.type == "none" and (gan.pixel.type, gan.pixel.weight) == ("l1", 1.0)
    # A learning rate that is not a number is refused on this page, naming the field.
    page.fields["phases.0.optimizer.lr"].textEdited.emit("fast")
    assert not _next_enabled(wizard)
    assert page.problem_box.messages[0] == "Phase 1 learning rate (phases[0].optimizer.lr): expected a number, got 'fast'"
    page.fields["phases.0.optimizer.lr"].textEdited.emit("2e-4")
    assert _next_enabled(wizard) and wizard.draft.build().phases[0].optimizer.lr == 2e-4
    # Another preset resets the recipe's fields but keeps the data.
    page.recipe.setCurrentIndex(page.recipe.findData("srresnet"))
    config = wizard.draft.build()
    assert config.phases[0].iterations == 1_000_000 and config.data.batch_size == 16 and config.data.train_dir


def test_no_vgg_gan_preset_needs_no_weights_and_offers_feature_matching(qtbot, wizard, tmp_path, no_vgg):
    _check(qtbot, wizard, make_images(tmp_path / "photos", n=2))
    wizard.next()
    wizard.next()
    page = wizard.recipe_page
    page.recipe.setCurrentIndex(page.recipe.findData("srgan-dfm"))
    assert _next_enabled(wizard)  # no VGG19 file needed
    fm = page.fields["phases.1.adversarial.feature_matching"]
    assert fm.isEnabled() and float(fm.text()) == 0.05
    fm.textEdited.emit("0.1")
    assert wizard.draft.build().phases[1].adversarial.feature_matching == 0.1
    # The PSNR budget: off by default, for the GAN phase only, measured against the SRResNet phase before it.
    budget = page.fields["phases.1.pixel.budget_db"]
    assert budget.isEnabled() and budget.text() == "off" and not page.fields["phases.0.pixel.budget_db"].isEnabled()
    budget.setValue(0.25)
    gan = wizard.draft.build().phases[1]
    assert (gan.pixel.budget_db, gan.pixel.budget_reference) == (0.25, "@start") and _next_enabled(wizard)
    # The SRGAN discriminator has no features to match: the page says so and names the field.
    page.recipe.setCurrentIndex(page.recipe.findData("srgan-mse"))
    page.fields["phases.1.adversarial.feature_matching"].textEdited.emit("0.1")
    assert not _next_enabled(wizard) and "features" in page.problem_box.messages[0]


def test_summary_shows_toml_that_round_trips_and_start_emits_the_config(qtbot, wizard, tmp_path, env_dirs):
    from trainer.config import load, loads

    photos = make_images(tmp_path / "photos", n=3)
    _check(qtbot, wizard, photos)
    for _ in range(4):
        wizard.next()
    page = wizard.summary_page
    assert wizard.currentPage() is page
    shown = loads(page.toml.toPlainText())
    assert shown == wizard.draft.build() and shown.data.train_dir == str(photos)
    assert "80" not in page.plan.text() and "3 images" in page.plan.text()
    page.name.setText("my run")
    page.name.textEdited.emit("my run")
    assert not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert "letters, digits" in page.problem_box.messages[0]
    page.name.textEdited.emit("first-model")
    saved = page.save_to(tmp_path / "saved.toml")
    assert load(saved) == shown

    # A saved config loads back into the wizard (which restarts at the first page to review it).
    wizard.load_config(saved)
    assert wizard.currentPage() is wizard.data_page and wizard.draft.build() == shown
    qtbot.waitUntil(wizard.data_page.ready, timeout=20000)
    for _ in range(4):
        wizard.next()
    wizard.summary_page.name.textEdited.emit("first-model")
    with qtbot.waitSignal(wizard.start_requested, timeout=5000) as blocker:
        wizard.button(QWizard.WizardButton.FinishButton).click()
    request = blocker.args[0]
    assert isinstance(request, StartRequest) and request.config == shown
    assert request.run_dir == env_dirs["user"] / "runs" / "first-model"


def test_hardware_page_probe_measures_speed_and_estimates_the_duration(qtbot, env_dirs, no_vgg, tmp_path, monkeypatch):
    monkeypatch.setattr("trainer.train.support.probe.PROBE_STEPS", 2)
    photos = make_images(tmp_path / "photos", n=2)
    draft = ConfigDraft("quick")
    for key, value in tiny_overrides(photos, None, **{"phases.*.iterations": 5000}).items():
        draft.set(key, value)
    w = TrainingWizard(draft, auto_probe=True)
    qtbot.addWidget(w)
    w.show()
    _check(qtbot, w, photos)
    for _ in range(3):
        w.next()
    page = w.hardware_page
    assert w.currentPage() is page and page.device.findText("cpu") >= 0
    qtbot.waitUntil(lambda: page.result is not None or bool(page.probe_error), timeout=60000)
    assert not page.probe_error
    seconds = page.result.seconds_per_100["pretrain"]
    assert seconds > 0 and "s per 100 steps" in page.speed.text()
    assert "Estimated training time" in page.estimate.text() and "5,000 steps" in page.estimate.text()
    page.threads.setValue(2)  # the settings changed: the figures are stale
    assert "measure again" in page.speed.text() and page.estimate.text() == ""
    w.close()


def test_model_page_offers_the_upsampler_and_fits_a_pixel_shuffle_file(qtbot, env_dirs, no_vgg, tmp_path):
    from trainer.modelfile import save_model
    from srgan_desktop.training.page_model import HPARAM_CHOICES
    from trainer.models import build_model
    from trainer.models.common import UPSAMPLERS, TiedSubpixelConv
    from trainer.train.setup import build_generator

    assert set(HPARAM_CHOICES["upsampler"]) == set(UPSAMPLERS)  # the page lists exactly what the trainer builds
    save_model(build_model("srresnet", scale=2, num_blocks=2, channels=8), env_dirs["user"] / "models" / "ps_x2.safetensors")
    w, page = _model_page(qtbot, tmp_path / "photos")
    combo = page.hparam_widgets["upsampler"]
    combo.setCurrentIndex(combo.findData("nearest_conv"))
    assert w.draft.build().model.hparams["upsampler"] == "nearest_conv"
    # Fine-tuning a pixel-shuffle file: the file decides the network, but the upsampler stays free
    # (the trainer fits the resize-conv kernel from the file's sub-pixel conv).
    page.finetune.setChecked(True)
    combo = page.hparam_widgets["upsampler"]
    assert not page.hparam_widgets["num_blocks"].isEnabled() and combo.isEnabled()
    assert combo.currentData() == "pixelshuffle"
    combo.setCurrentIndex(combo.findData("bilinear_conv"))
    config = w.draft.build()
    assert config.model.hparams["upsampler"] == "bilinear_conv" and config.model.init_weights.endswith("ps_x2.safetensors")
    model = build_generator(config)  # starts from the least-squares fit of the file's upsampler
    assert any(isinstance(m, TiedSubpixelConv) for m in model.modules())
    w.close()
    # A resize-conv file cannot go back to pixel shuffle through init_weights: the choice is locked.
    save_model(build_model("srresnet", scale=2, num_blocks=2, channels=8, upsampler="bilinear_conv"),
               env_dirs["user"] / "models" / "rc_x2.safetensors")
    w, page = _model_page(qtbot, tmp_path / "photos2")
    page.base_model.setCurrentIndex(page.base_model.findText("rc_x2", flags=Qt.MatchFlag.MatchStartsWith))
    page.finetune.setChecked(True)
    assert page.hparam_widgets["upsampler"].currentData() == "bilinear_conv"
    assert not page.hparam_widgets["upsampler"].isEnabled()
    w.close()
