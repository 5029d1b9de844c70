"""The GUI package holds Qt code only, plus the plain view-state models of ``srgan_desktop/state/``.

Read from the source with ``ast`` (nothing is imported, so the check costs no Qt or torch start-up):
a module of ``srgan_desktop`` that imports no Qt (PySide6, shiboken6, pyqtgraph), directly or
through another GUI module, is application logic and belongs in ``trainer`` (see
docs/ARCHITECTURE.md), unless it is a view-state model in ``srgan_desktop/state/`` or a package's
``__init__``/``__main__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "srgan_desktop"
QT_PACKAGES = {"PySide6", "shiboken6", "pyqtgraph"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(GUI.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # "from pkg import module"
    return names


def qt_free_modules() -> list[str]:
    """GUI modules (paths relative to the repository) that import no Qt, directly or through
    another GUI module."""
    files = {_module_name(p): p for p in sorted(GUI.rglob("*.py"))}
    imports = {name: _imports(path) for name, path in files.items()}
    qt = {name for name, used in imports.items() if any(u.split(".")[0] in QT_PACKAGES for u in used)}
    changed = True
    while changed:  # a module built on a Qt module of the GUI is Qt code too
        changed = False
        for name, used in imports.items():
            if name not in qt and any(u in qt for u in used if u.startswith("srgan_desktop.")
                                      and files.get(u) is not None and files[u].name != "__init__.py"):
                qt.add(name)
                changed = True
    return sorted(str(files[n].relative_to(GUI.parent)) for n in files if n not in qt)


def test_the_reader_sees_qt_imports():
    free = qt_free_modules()
    assert "srgan_desktop/main_window.py" not in free and "srgan_desktop/__init__.py" in free


def test_gui_modules_without_qt_are_only_view_state():
    allowed = {"__init__.py", "__main__.py"}
    outside = [m for m in qt_free_modules() if not m.startswith("srgan_desktop/state/") and Path(m).name not in allowed]
    assert outside == [], (
        f"GUI modules without Qt outside srgan_desktop/state/: {outside}; move their logic into trainer/ "
        "(trainer/app/, trainer/train/support/, ...) or, for a plain model that widgets observe, into srgan_desktop/state/"
    )
