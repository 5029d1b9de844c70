"""The Help menu (issue 18, point 8): About names the versions and the licences of the shipped models
and of the NIQE parameters; F1 lists the keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from srgan_desktop.help_menu import NOTICE, about_html, shortcut_rows


def test_help_menu_about_and_f1_shortcuts(make_window, qtbot, tiny_model):
    window = make_window()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus[-1] == "Help"
    keys = window.help_actions["shortcuts"]
    assert keys.shortcut() == QKeySequence(Qt.Key.Key_F1)
    keys.trigger()
    dialog = window.help_dialog
    assert dialog.isVisible() and dialog.windowTitle() == "Keyboard shortcuts"
    text = dialog.label.text()
    for shown in ("Open images", "Compare models", "Train a model", "Cancel", "F1"):
        assert shown in text, shown
    dialog.close()

    window.help_actions["about"].trigger()
    about = window.help_dialog
    assert about.isVisible() and "About" in about.windowTitle()
    text = about.label.text()
    assert "SRGAN Desktop" in text and "PySide6" in text and "torch" in text and "Python" in text
    assert "tiny_x4" in text  # the shipped models, with their terms
    assert "trained by this project" in text and "NIQE" in text and "Apache" in text
    assert NOTICE.is_file() and str(NOTICE) in text
    about.close()


def test_about_does_not_import_torch_itself():
    import subprocess
    import sys

    code = ("import sys; from srgan_desktop.help_menu import about_html; about_html(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_shortcut_rows_have_keys_and_text(make_window, tiny_model):
    rows = shortcut_rows(make_window())
    assert all(k and t for k, t in rows)
    assert len({k for k, _ in rows}) >= 15
    assert about_html().count("<tr>") >= 5
