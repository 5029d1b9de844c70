"""The core must never import Qt: checked in a fresh interpreter, not by review."""

import subprocess
import sys


def test_trainer_imports_no_qt():
    code = (
        "import sys, pkgutil, importlib, trainer\n"
        "for m in pkgutil.walk_packages(trainer.__path__, 'trainer.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6', 'srgan_desktop'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"trainer imported Qt modules: {out.stdout.strip()}"
