"""GUI test fixtures: isolated model/user folders, a tiny model, a settings file, the main window.

Everything runs offscreen (tests/conftest.py sets QT_QPA_PLATFORM) on the CPU; waits use
qtbot.waitSignal/waitUntil, never fixed sleeps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture()
def env_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty shipped-models and user folders (trainer.paths reads the variables at call time)."""
    resources, user = tmp_path / "resources", tmp_path / "user"
    (resources / "models").mkdir(parents=True)
    user.mkdir()
    monkeypatch.setenv("SRGAN_RESOURCES", str(resources))
    monkeypatch.setenv("SRGAN_USER_DIR", str(user))
    monkeypatch.setenv("SRGAN_DEVICE", "cpu")
    return {"resources": resources, "models": resources / "models", "user": user, "out": tmp_path / "out"}


def save_tiny_model(path: Path, seed: int = 0) -> Path:
    """A 2-block, 8-channel SRResNet x4 saved with trainer.modelfile (fast on the CPU)."""
    import torch

    from trainer.modelfile import save_model
    from trainer.models import build_model

    torch.manual_seed(seed)
    model = build_model("srresnet", num_blocks=2, channels=8, scale=4, bicubic_skip=True)
    return save_model(model, path, metadata={"description": "tiny test model"})


@pytest.fixture()
def tiny_model(env_dirs: dict[str, Path]) -> Path:
    """A shipped tiny model named ``tiny_x4`` (the default, as the only shipped model)."""
    return save_tiny_model(env_dirs["models"] / "tiny_x4.safetensors")


@pytest.fixture(autouse=True)
def _gc_in_gui_thread(qapp):
    """As in the application: cyclic garbage is collected in the GUI thread only (per test, so the
    Qt-free tests that follow keep Python's normal collector)."""
    import gc

    from srgan_desktop.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(qapp)
    yield
    collector.stop()
    gc.collect()


@pytest.fixture(autouse=True)
def _fresh_engines():
    """Models cached by the job module belong to one test's temporary folder."""
    from trainer.app.jobs import ENGINES

    ENGINES.clear()
    yield
    ENGINES.clear()


@pytest.fixture(autouse=True)
def _no_worker_left(qtbot):
    """Every worker a test started has finished (and its queued callbacks ran) before the next test."""
    yield
    from srgan_desktop.worker import live_workers, shutdown_workers

    for handle in live_workers():
        handle.abort()
    qtbot.waitUntil(lambda: not live_workers(), timeout=30000)
    shutdown_workers(1.0)


@pytest.fixture()
def store(tmp_path: Path):
    from srgan_desktop.settings import make_qsettings

    return make_qsettings(tmp_path / "settings.ini")


def write_image(path: Path, size=(24, 20), seed: int = 0, mode: str = "RGB") -> Path:
    """A small smooth-plus-noise test picture."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(1, w - 1), yy * 255 / max(1, h - 1), (xx + yy) * 127 / max(1, w + h - 2)], axis=2)
    arr = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).convert(mode).save(path)
    return path


@pytest.fixture()
def make_window(qtbot, store, env_dirs):
    """Factory for a shown main window using the temporary settings and output folder; waits for
    the warm-up worker (models and devices listed)."""
    from srgan_desktop.main_window import MainWindow
    from srgan_desktop.settings import load_settings

    windows = []

    def make(job=None, **settings_values):
        settings = load_settings(store)
        settings.output_dir = str(env_dirs["out"])
        for key, value in settings_values.items():
            setattr(settings, key, value)
        kwargs = {} if job is None else {"job": job}
        window = MainWindow(settings, store, **kwargs)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.environment_ready, timeout=180000):
            window.show()
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.persist = False
        w.runner.cancel()
