"""The CPU backend choice in the options panel (issue 16, item 6): stored, used by the jobs, shown
in the readouts, and no fp16/bf16 offered on the CPU."""

from __future__ import annotations

import pytest
from conftest import write_image

from srgan_desktop.settings import load_settings, save_settings


def test_backend_choice_is_stored_used_and_shown(make_window, qtbot, tmp_path, tiny_model, store):
    from trainer.inference.backends import openvino_available

    if not openvino_available():
        pytest.skip("openvino is not installed")
    window = make_window(autostart=False)
    options = window.options
    options.device.setCurrentText("cpu")
    keys = [options.backend.itemData(i) for i in range(options.backend.count())]
    assert keys == ["auto", "torch", "openvino"] and options.backend.isEnabled()
    assert [options.precision.itemText(i) for i in range(options.precision.count())] == ["fp32"]  # no fp16 on the CPU
    options.backend.setCurrentIndex(keys.index("torch"))
    assert window.settings.backend == "torch"
    save_settings(store, window.settings)
    assert load_settings(store).backend == "torch"
    window.add_paths([write_image(tmp_path / "in" / "a.png", (24, 20))])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    assert window.options_for(window.queue.items[0]).engine_settings.backend == "torch"
    options.backend.setCurrentIndex(keys.index("openvino"))
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    assert window.readouts.result.backend == "openvino"
    assert "device cpu · fp32 · openvino" in window.readouts.info.text()


def test_a_hand_edited_backend_falls_back_to_auto(store):
    settings = load_settings(store)
    settings.backend = "tensorrt"
    settings.normalise()
    assert settings.backend == "auto"
