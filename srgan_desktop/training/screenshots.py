"""Screenshots of the training wizard and monitor for the docs (``docs/screenshots/training_*.png``).

    QT_QPA_PLATFORM=offscreen python -m srgan_desktop.training.screenshots docs/screenshots \
        --data ../shared/data/train/sunhays80

Runs offscreen in a temporary user folder: walks the wizard pages with the given training folder,
then trains the quick recipe for a few dozen steps and grabs the monitor (curves, validation crops).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable


def _pump() -> None:
    # QEventLoop().processEvents, not QApplication.processEvents: the static one of PySide6 6.12
    # drops a reference to None per call on Python 3.11, which eventually crashes the interpreter.
    from PySide6.QtCore import QEventLoop

    QEventLoop().processEvents()


def _wait(app, until: Callable[[], bool], timeout_s: float) -> bool:  # noqa: ANN001
    end = time.monotonic() + timeout_s
    while not until() and time.monotonic() < end:
        _pump()
        time.sleep(0.01)
    return until()


def _save(widget, path: Path, width: int | None = None) -> Path:  # noqa: ANN001
    from PySide6.QtCore import Qt

    end = time.monotonic() + 0.5  # let freshly added widgets get their layout
    while time.monotonic() < end:
        _pump()
        time.sleep(0.02)
    pm = widget.grab()
    if width and pm.width() > width:
        pm = pm.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    pm.save(str(path), "PNG")
    print(f"wrote {path} ({pm.width()}x{pm.height()})")
    return path


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--data", type=Path, required=True, help="folder of training images")
    p.add_argument("--steps", type=int, default=40, help="training steps before the monitor is grabbed")
    p.add_argument("--theme", default="light", choices=("light", "dark"))
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = tempfile.TemporaryDirectory(prefix="srgan-shots-")
    os.environ["SRGAN_USER_DIR"] = tmp.name
    os.environ.setdefault("SRGAN_OFFLINE", "1")
    from PySide6.QtWidgets import QApplication

    from srgan_desktop.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, args.theme)
    args.out.mkdir(parents=True, exist_ok=True)
    from srgan_desktop.training.wizard import TrainingWizard

    wizard = TrainingWizard(auto_probe=True)
    # What a 1366x768 screen leaves a window (less ~68 px of title bar and panel), as issue 18 asks.
    wizard.resize(960, 700)
    wizard.show()
    wizard.data_page.set_folder(str(args.data))
    _wait(app, wizard.data_page.ready, 120)
    wizard.data_page.holdout_n.setValue(5)
    _save(wizard, args.out / "training_wizard_1_data.png")
    for i, name in enumerate(("model", "recipe", "hardware", "summary"), 2):
        wizard.next()
        if name == "recipe":
            wizard.recipe_page.fields["phases.0.iterations"].setValue(args.steps + 20)
            wizard.recipe_page.fields["phases.0.time_limit_s"].setValue(0)  # the grab needs a running run
            wizard.recipe_page.fields["runtime.val_interval"].setValue(10)
        if name == "hardware":
            _wait(app, lambda: wizard.hardware_page.result is not None or bool(wizard.hardware_page.probe_error), 300)
        _save(wizard, args.out / f"training_wizard_{i}_{name}.png")
    request = wizard.request()
    wizard.close()

    from trainer.config import apply_overrides

    from srgan_desktop.training.monitor import MonitorWidget
    from srgan_desktop.training.session import TrainingSession

    config = apply_overrides(request.config, {"runtime.log_interval": 2, "runtime.checkpoint_interval": 0})
    session = TrainingSession(config, request.run_dir).start()
    monitor = MonitorWidget()
    monitor.attach(session.state, session, config)
    monitor.resize(1366, 700)
    monitor.show()
    _wait(app, lambda: session.state.step >= args.steps and session.state.samples_version > 0 or not session.running, 900)
    monitor.refresh(force=True)
    _save(monitor, args.out / "training_monitor.png")
    session.shutdown(120)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
