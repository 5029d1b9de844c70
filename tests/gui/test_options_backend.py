"""Precision offered only where it changes something, what ran shown in the readouts, and a tile-size
setting that reaches the engine (issue 18, point 11; arrow keys and the clamped pan are in
test_comparator.py)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import write_image

from srgan_desktop.settings import load_settings, save_settings


def test_precision_only_where_the_backend_makes_it_differ(make_window, tiny_model):
    window = make_window(precision="fp16")
    options = window.options
    assert window.environment.devices == ["auto", "cpu"] or "cpu" in window.environment.devices
    options.device.setCurrentText("cpu")
    items = [options.precision.itemText(i) for i in range(options.precision.count())]
    assert items == ["fp32"] and not options.precision.isEnabled()
    assert "fp32" in options.precision.toolTip()
    assert window.settings.precision == "fp16"  # remembered for a device where it matters


def test_precision_and_device_that_ran_are_shown(make_window, qtbot, tmp_path, tiny_model):
    window = make_window(autostart=False)
    window.add_paths([write_image(tmp_path / "in" / "a.png", (24, 20))])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    assert window.readouts.result.precision == "fp32"
    assert "device cpu · fp32" in window.readouts.info.text()


def test_tile_size_setting_is_remembered_and_used(make_window, qtbot, tmp_path, tiny_model, store):
    window = make_window(autostart=False)
    window.options.tile.setValue(48)
    assert window.settings.tile == 48
    save_settings(store, window.settings)
    assert load_settings(store).tile == 48
    window.add_paths([write_image(tmp_path / "in" / "big.png", (120, 100))])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    assert window.options_for(window.queue.items[0]).tile == 48
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.start_processing()
    assert window.readouts.result.tile_size == 48 and "tiles 48px" in window.readouts.info.text()
    window.options.tile.setValue(0)
    assert window.settings.tile == 0 and window.options_for(window.queue.items[0]).tile is None


def test_evaluation_forward_is_cancelled_inside(tiny_model):
    """The app's evaluation runs srgan-eval's whole-image function: cancellable within a layer too."""
    import torch
    from torch import nn

    from trainer.inference import UpscaleCancelled
    from trainer.inference.cancel import cancellable_forward

    calls = []
    cancel = threading.Event()

    class Slow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(nn.Identity() for _ in range(50))

        def forward(self, x):
            for i, layer in enumerate(self.layers):
                calls.append(i)
                if i == 10:
                    cancel.set()
                x = layer(x)
            return x

    with pytest.raises(UpscaleCancelled), cancellable_forward(cancel):
        Slow()(torch.zeros(1))
    assert len(calls) == 11
    t0 = time.monotonic()
    Slow()(torch.zeros(1))  # outside the block: no check at all
    assert len(calls) == 11 + 50 and time.monotonic() - t0 < 5


def test_precision_choice_is_kept_on_a_gpu_device(qtbot, tmp_path):
    """With an accelerator listed, every precision is offered and a choice sticks."""
    from srgan_desktop.options_panel import OptionsPanel
    from srgan_desktop.settings import AppSettings
    from trainer.app.model_choices import Environment

    settings = AppSettings(output_dir=str(tmp_path))
    panel = OptionsPanel(settings)
    qtbot.addWidget(panel)
    panel.set_environment(Environment(devices=["auto", "cpu", "cuda:0"]))
    assert panel.precision.isEnabled() and panel.precision.count() == 4
    panel.precision.setCurrentText("fp16")
    assert settings.precision == "fp16" and panel.precision.currentText() == "fp16"
    panel.device.setCurrentText("cpu")
    assert not panel.precision.isEnabled() and panel.precision.currentText() == "fp32"
    assert settings.precision == "fp16"
    panel.device.setCurrentText("cuda:0")
    assert panel.precision.isEnabled() and panel.precision.currentText() == "fp16"
