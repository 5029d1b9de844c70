"""Start-up without torch, --screenshot, remembered settings and window state, import, themes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import save_tiny_model, write_image
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDockWidget

from srgan_desktop.main_window import MainWindow
from srgan_desktop.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def _env(env_dirs) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", SRGAN_RESOURCES=str(env_dirs["resources"]), SRGAN_USER_DIR=str(env_dirs["user"]))
    return env


def test_window_is_painted_before_torch_is_imported(env_dirs, tmp_path):
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QEvent, QObject\n"
        "app = QApplication([])\n"
        "import srgan_desktop.app, srgan_desktop.main_window as mw\n"
        "from srgan_desktop.settings import load_settings, make_qsettings\n"
        f"store = make_qsettings({str(tmp_path / 's.ini')!r})\n"
        "w = mw.MainWindow(load_settings(store), store)\n"
        "seen = []\n"
        "class F(QObject):\n"
        "    def eventFilter(self, o, e):\n"
        "        if e.type() == QEvent.Type.Paint and not seen:\n"
        "            seen.append('torch' in sys.modules)\n"
        "        return False\n"
        "f = F(); w.installEventFilter(f)\n"
        "w.show()\n"
        "from PySide6.QtCore import QEventLoop\n"
        "loop = QEventLoop()  # not app.processEvents: PySide6 6.12's static one leaks None refs\n"
        "while not seen: loop.processEvents()\n"
        "print('torch at first paint:', seen[0])\n"
        "print('torch loaded:', 'torch' in sys.modules)\n"
        "w.persist = False; w.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(env_dirs), timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "torch at first paint: False" in out.stdout


def test_screenshot_command_after_processing(env_dirs, tmp_path):
    save_tiny_model(env_dirs["models"] / "tiny_x4.safetensors")
    image = write_image(tmp_path / "gt.png", size=(64, 48), seed=3)
    shot = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "srgan_desktop", "--screenshot", str(shot), "--open", str(image), "--evaluate",
           "--size", "1300x800", "--timeout", "240"]
    env = _env(env_dirs)
    env["QT_SCALE_FACTOR"] = "2"  # a high-DPI screen: the picture has twice the pixels
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "1 done, 0 failed" in out.stderr
    assert "Traceback" not in out.stderr, out.stderr  # an exception in a slot does not change the exit code
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (2600, 1600)
        pixels = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(pixels) > 100  # a rendered window, not a blank picture


def test_screenshot_command_comparing_two_models(env_dirs, tmp_path):
    """--model / --compare take zoo names or model files used where they are (not copied)."""
    save_tiny_model(env_dirs["models"] / "tiny_x4.safetensors")
    elsewhere = save_tiny_model(tmp_path / "downloads" / "other_x4.safetensors", seed=1)
    image = write_image(tmp_path / "gt.png", size=(64, 48), seed=3)
    shot = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "srgan_desktop", "--screenshot", str(shot), "--open", str(image), "--evaluate",
           "--model", "tiny_x4", "--compare", str(elsewhere), "--size", "1000x700", "--timeout", "240"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(env_dirs), timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    # the two models side by side, the second one the file where it is (not copied into the zoo)
    assert "comparator: sr | sr2 (sr: tiny_x4, sr2: other_x4)" in out.stderr, out.stderr
    assert not list(env_dirs["user"].rglob("other_x4*")) and not list(env_dirs["models"].glob("other_x4*"))
    assert shot.is_file()

    # a model that does not exist: a clear message and a failing exit code at once, no picture of
    # another model's result and no wait for the time-out
    cmd[cmd.index(str(elsewhere))] = "no_such_model"
    shot.unlink()
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(env_dirs), timeout=120, cwd=ROOT)
    assert out.returncode == 1
    assert "cannot use model no_such_model: no model named 'no_such_model'; known models: tiny_x4" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert not shot.exists()


def test_settings_and_window_state_are_remembered(make_window, qtbot, store, env_dirs):
    window = make_window()
    opts = window.options
    opts.format.setCurrentIndex(opts.format.findData("jpg"))
    opts.quality.setValue(77)
    opts.template.setText("{stem}-{model}")
    window.comparison.set_mode("side")
    options_dock = window.findChild(QDockWidget, "dock_options")
    options_dock.hide()
    window.persist = True
    window.close()
    again = load_settings(store)
    assert (again.format, again.quality, again.template, again.view_mode) == ("jpg", 77, "{stem}-{model}", "side")
    assert store.value("window/geometry") is not None
    second = MainWindow(again, store)
    qtbot.addWidget(second)
    second.show()
    assert second.findChild(QDockWidget, "dock_options").isHidden()  # the dock layout is restored
    assert second.findChild(QDockWidget, "dock_queue").isVisible()
    assert second.options.format.currentData() == "jpg" and second.options.quality.value() == 77
    assert second.comparison.mode == "side"
    second.persist = False


def test_install_model_file_copies_adds_and_selects_it(make_window, qtbot, env_dirs, tmp_path):
    window = make_window()
    assert window.settings.model == ""
    source = save_tiny_model(tmp_path / "downloads" / "my net.safetensors", seed=2)
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        window.install_model(str(source))  # File > Install model into my models... (Import uses it in place)
    installed = env_dirs["user"] / "models" / "my_net.safetensors"
    assert installed.is_file() and source.is_file()
    assert window.settings.model == "my_net"
    assert window.options.model.currentData() == "my_net" and "(yours)" in window.options.model.currentText()
    assert not window.banner.isVisible()


def test_a_model_file_is_used_where_it_is_and_a_missing_model_is_reported(make_window, env_dirs, tmp_path):
    source = save_tiny_model(tmp_path / "downloads" / "their_x4.safetensors", seed=2)
    window = make_window(model=str(source))  # as --model FILE, or remembered from last time
    assert window.settings.model == str(source)
    assert window.options.model.currentData() == str(source)
    assert window.options.model.currentText() == "their_x4 x4 (file)"
    assert not (env_dirs["user"] / "models").exists() or not any((env_dirs["user"] / "models").iterdir())

    gone = make_window(model=str(tmp_path / "deleted.safetensors"))
    assert gone.settings.model == ""  # nothing shipped in this test: the bicubic baseline
    message = gone.statusBar().currentMessage()
    assert "Cannot use model" in message and "deleted.safetensors not found" in message, message


def test_broken_model_file_is_refused_with_a_reason(make_window, qtbot, tmp_path):
    window = make_window()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    messages = []
    window.message.connect(messages.append)
    window.import_model(str(bad))
    qtbot.waitUntil(lambda: any("Import failed" in m for m in messages), timeout=30000)
    assert any("bad.safetensors" in m for m in messages)


def test_dark_and_light_themes(make_window, qtbot):
    from srgan_desktop.theme import apply_theme

    app = QApplication.instance()
    window = make_window()
    try:
        window.set_theme("dark")  # View > Theme > Dark
        assert window.settings.theme == "dark"
        qtbot.waitUntil(lambda: window.palette().color(QPalette.ColorRole.Window).lightness() < 80)
        dark = window.grab().toImage()
        window.set_theme("light")
        qtbot.waitUntil(lambda: window.palette().color(QPalette.ColorRole.Window).lightness() > 180)
        light = window.grab().toImage()
        assert dark.pixelColor(5, dark.height() - 5).lightness() < light.pixelColor(5, light.height() - 5).lightness()
    finally:
        apply_theme(app, "system")
