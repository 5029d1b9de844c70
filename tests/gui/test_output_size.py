"""Output size in the window (issue 18 point 12): offered in the options panel, remembered, used by the
queue (the pipeline's rule, issue 16 item 3; tests/trainer/test_outsize.py covers the core)."""

from __future__ import annotations

from conftest import write_image
from PIL import Image

from srgan_desktop.settings import AppSettings, load_settings, save_settings
from trainer.pipeline import OutputSize


def test_output_size_settings_round_trip_and_bad_values(store):
    s = load_settings(store)
    assert (s.out_size, s.output_size()) == ("model", OutputSize())
    s.out_size, s.out_pixels = "width", 1280
    save_settings(store, s)
    again = load_settings(store)
    assert (again.out_size, again.out_pixels, again.output_size()) == ("width", 1280, OutputSize(width=1280))
    store.setValue("options/out_size", "x17")
    store.setValue("options/out_pixels", "-4")
    broken = load_settings(store)
    assert broken.out_size == "model" and broken.out_pixels == 16
    assert AppSettings(out_size="x3").output_size() == OutputSize(factor=3)


def test_options_panel_offers_the_sizes_and_shows_pixels_only_for_width_or_height(qtbot):
    from srgan_desktop.options_panel import OptionsPanel

    settings = AppSettings(output_dir="/tmp/out")
    panel = OptionsPanel(settings)
    qtbot.addWidget(panel)
    panel.show()
    assert [panel.out_size.itemData(i) for i in range(panel.out_size.count())] == \
        ["model", "x2", "x3", "x4", "x8", "width", "height"]
    assert not panel.out_pixels.isVisible() and "photo_x4.jpg" in panel.template_hint.text()
    panel.out_size.setCurrentIndex(panel.out_size.findData("x2"))
    assert settings.out_size == "x2" and "photo_x2.jpg" in panel.template_hint.text()
    panel.out_size.setCurrentIndex(panel.out_size.findData("width"))
    assert panel.out_pixels.isVisible() and settings.output_size() == OutputSize(width=1920)
    panel.out_pixels.setValue(2500)
    assert settings.out_pixels == 2500 and "(1000×750) → photo_x2.5.jpg" in panel.template_hint.text()


def test_the_queue_saves_at_the_chosen_size_and_the_readout_says_so(make_window, qtbot, tmp_path, tiny_model, env_dirs):
    window = make_window(autostart=False)
    window.options.out_size.setCurrentIndex(window.options.out_size.findData("x2"))
    window.add_paths([write_image(tmp_path / "in" / "cat.png", (24, 20))])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    options = window.options_for(window.queue.items[0])
    assert options.size == OutputSize(factor=2) and options.planner.rules.size == OutputSize(factor=2)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    saved = env_dirs["out"] / "cat_x2.png"
    with Image.open(saved) as im:
        assert im.size == (48, 40)
    result = window.readouts.result
    assert result.output_size == (48, 40) and result.layers["sr"].pixels.shape[:2] == (80, 96)  # the model's x4 shown
    assert "model x4 → saved 48×40 (resampled, Lanczos)" in window.readouts.info.text()
