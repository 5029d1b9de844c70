"""The Help menu: keyboard shortcuts (F1), About (versions, model and data licences).

Versions are read from the installed packages' metadata (``importlib.metadata``), so opening About
imports neither torch nor anything heavy. The shipped models are listed from the resources folder
with the first paragraph of each model card.
"""

from __future__ import annotations

import html
import platform
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from srgan_desktop import __version__

if TYPE_CHECKING:
    from srgan_desktop.main_window import MainWindow

NOTICE = Path(__file__).resolve().parent.parent / "trainer" / "data" / "NOTICE"
# Keys handled inside the comparator (its actions have no menu of their own for every key).
VIEW_KEYS = [
    ("Mouse wheel / + / −", "zoom the comparator around the cursor"),
    ("Drag, arrow keys", "pan the image (Shift+arrows: a screen at a time)"),
    ("Drag the divider", "move the split between the left and right layers"),
]


def versions() -> list[tuple[str, str]]:
    """(component, version) of the app and the libraries it runs on."""
    rows = [("SRGAN Desktop", __version__), ("Python", platform.python_version())]
    for dist in ("PySide6", "torch", "numpy", "Pillow", "safetensors", "pyqtgraph"):
        try:
            rows.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            rows.append((dist, "not installed"))
    try:
        from PySide6 import QtCore

        rows.append(("Qt", QtCore.qVersion()))
    except ImportError:  # pragma: no cover - PySide6 is there when this module runs
        pass
    return rows


def shipped_models() -> list[tuple[str, str]]:
    """(model name, first line of its card's description) of the models in the resources folder."""
    from trainer.paths import models_dir  # stdlib only: no torch

    models = []
    folder = models_dir()
    for weights in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        card = weights.with_suffix(".md")
        summary = ""
        if card.is_file():
            lines = [ln.strip() for ln in card.read_text(encoding="utf-8", errors="replace").splitlines()]
            summary = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        models.append((weights.stem, summary))
    return models


def about_html() -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in versions())
    models = "".join(f"<li><b>{html.escape(n)}</b>: {html.escape(s[:160])}</li>" for n, s in shipped_models()) or "<li>none</li>"
    return (
        "<h3>SRGAN Desktop</h3>"
        "<p>4x super-resolution with SRGAN (Ledig et al. 2017): upscale, compare, evaluate and train.</p>"
        f"<table cellspacing='2'>{rows}</table>"
        "<h4>Models</h4>"
        "<p>The shipped models were trained by this project (their model cards, in <code>resources/models/</code>, "
        "say on what data and how) and come under the same terms as the application. Models you train or "
        "import keep their own terms.</p>"
        f"<ul>{models}</ul>"
        "<h4>Third-party data</h4>"
        "<p>NIQE uses the pristine-image parameters of the NIQE software release (Mittal, Soundararajan and "
        "Bovik, The University of Texas at Austin, 2011), as distributed by BasicSR under the Apache License "
        f"2.0; see <code>{html.escape(str(NOTICE))}</code>.</p>"
    )


def shortcut_rows(window: MainWindow) -> list[tuple[str, str]]:
    """(keys, what they do) for every action of the window that has a shortcut, then the view keys."""
    seen, rows = set(), []
    for act in window.findChildren(QAction):
        keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        text = act.text().replace("&", "").rstrip("…").strip()
        if keys and text and (keys, text) not in seen:
            seen.add((keys, text))
            rows.append((keys, text))
    return rows + VIEW_KEYS


class TextDialog(QDialog):
    """A scrolling rich-text dialog with a Close button."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(True)
        area = QScrollArea(self)
        area.setWidgetResizable(True)
        area.setWidget(self.label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(area, 1)
        layout.addWidget(buttons)
        self.resize(560, 480)


def install_help(window: MainWindow) -> dict[str, QAction]:
    """Add the Help menu to ``window`` (F1: the keyboard shortcuts); returns its actions."""
    menu = window.menuBar().addMenu("&Help")
    keys = QAction("Keyboard shortcuts", window)
    keys.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))  # F1
    keys.triggered.connect(lambda: show_dialog(window, "shortcuts"))
    about = QAction("About SRGAN Desktop", window)
    about.triggered.connect(lambda: show_dialog(window, "about"))
    window.addAction(keys)
    menu.addAction(keys)
    menu.addSeparator()
    menu.addAction(about)
    return {"shortcuts": keys, "about": about}


def show_dialog(window: MainWindow, which: str) -> TextDialog:
    """Open (non-modal) the shortcuts or the About dialog; kept as ``window.help_dialog``."""
    if which == "about":
        dialog = TextDialog("About SRGAN Desktop", about_html(), window)
    else:
        rows = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(t)}</td></tr>" for k, t in shortcut_rows(window))
        dialog = TextDialog("Keyboard shortcuts", f"<table cellspacing='4'>{rows}</table>", window)
    window.help_dialog = dialog
    dialog.show()
    return dialog
