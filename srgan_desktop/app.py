"""Application start-up: ``srgan-desktop [--open IMAGE...] [--evaluate] [--screenshot OUT.png]``.

The window is shown before torch is imported (the core loads in a worker afterwards), so this
module and everything it imports at module level stay free of torch.

``--screenshot OUT.png`` processes the ``--open`` files, waits until the queue and the readouts are
done, saves a picture of the window and exits; it works with ``QT_QPA_PLATFORM=offscreen`` (chosen
automatically when there is no display). It uses a temporary settings file and, in upscale mode, a
temporary output folder unless ``--settings`` / ``--output`` are given.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from srgan_desktop import __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="srgan-desktop", description="4x super-resolution with SRGAN: upscale, compare, evaluate.")
    p.add_argument("--open", nargs="+", type=Path, default=[], metavar="PATH", help="images or folders to queue at start")
    p.add_argument("--evaluate", action="store_true", help="treat the opened images as ground truth (evaluation mode)")
    p.add_argument("--model", help="'auto' (a model per file), a model name or a model file (default: the remembered choice, else auto)")
    p.add_argument("--compare", metavar="MODEL", help="also run this model on the first result and compare (with --screenshot)")
    p.add_argument("--output", type=Path, help="output folder")
    p.add_argument("--screenshot", type=Path, metavar="OUT.png", help="save a picture of the window after processing, then exit")
    p.add_argument("--view", choices=("split", "side"), help="comparator mode")
    p.add_argument("--zoom", type=float, metavar="PERCENT", help="comparator zoom after processing (default: fit)")
    p.add_argument("--layers", metavar="LEFT,RIGHT", help="layers on the two sides, e.g. bicubic,sr or sr,error")
    p.add_argument("--loupe", action="store_true", help="show the magnifier loupe at the middle of the view (with --screenshot)")
    p.add_argument("--theme", choices=("system", "light", "dark"), help="colour theme (remembered)")
    p.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1400x880")
    p.add_argument("--settings", type=Path, help="settings file (INI) to use instead of the user's")
    p.add_argument("--timeout", type=float, default=600.0, help="--screenshot: give up after this many seconds")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def check_open_paths(paths: list[Path]) -> str:
    """Why a ``--open`` argument cannot be used ("" if they all can): a missing path, or a file
    that is no image (its header is read with Pillow; folders are scanned later)."""
    for raw in paths:
        path = raw.expanduser()
        if not path.exists():
            return f"--open {raw}: no such file or folder"
        if path.is_file():
            from PIL import Image, UnidentifiedImageError  # light: no torch

            from trainer.imageio.heif import register

            register()  # HEIC photos open like the others
            try:
                with Image.open(path):
                    pass
            except UnidentifiedImageError:
                return f"--open {raw}: not an image file (no known image format)"
            except OSError as exc:
                return f"--open {raw}: cannot read it ({exc.strerror or exc})"
    return ""


def _headless() -> bool:
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(argv: list[str]) -> int:
    """Start the application; returns the exit status."""
    args = build_parser().parse_args(argv)
    problem = check_open_paths(args.open)
    if problem:  # at once: not after the window has loaded the models
        print(f"srgan-desktop: {problem}", file=sys.stderr)
        return 2
    if args.screenshot is not None and _headless():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from srgan_desktop.main_window import MainWindow
    from srgan_desktop.settings import APPLICATION, ORGANIZATION, load_settings, make_qsettings
    from srgan_desktop.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "srgan-desktop"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("SRGAN Desktop")
    from srgan_desktop.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(app)
    temp = tempfile.TemporaryDirectory(prefix="srgan-desktop-") if args.screenshot is not None else None
    settings_path = args.settings if args.settings is not None else (Path(temp.name) / "settings.ini" if temp else None)
    store = make_qsettings(settings_path)
    settings = load_settings(store)
    if args.model:
        settings.model = args.model
    if args.output:
        settings.output_dir = str(args.output)
    elif temp is not None:
        settings.output_dir = str(Path(temp.name) / "out")
    if args.evaluate:
        settings.evaluate = True
    if args.view:
        settings.view_mode = args.view
    if args.theme:
        settings.theme = args.theme
    apply_theme(app, settings.theme)
    window = MainWindow(settings, store)
    window.environment_ready.connect(lambda _env: collector.freeze())  # torch and the core are in
    if args.size:
        w, _, h = args.size.lower().partition("x")
        window.resize(int(w), int(h))
    window.show()
    if args.open:
        window.add_paths([p.expanduser() for p in args.open], evaluate=args.evaluate)
    shooter = None
    if args.screenshot is not None:
        shooter = Screenshot(window, args, temp)
    code = app.exec()
    collector.stop()
    if shooter is not None:
        code = shooter.exit_code
    if temp is not None:
        temp.cleanup()
    return code


class Screenshot:
    """Waits for the opened files to be processed (and compared), then saves the window and quits."""

    def __init__(self, window, args: argparse.Namespace, temp) -> None:  # noqa: ANN001
        from PySide6.QtCore import QTimer

        self.window, self.args, self.temp = window, args, temp
        self.exit_code = 1
        self.started = time.monotonic()
        self.compared = args.compare is None
        self.comparing = False
        self.view_applied = False
        self.finished = False
        self.abort = False
        self.timer = QTimer(window)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._poll)
        self.timer.start()
        if args.compare:
            window.settings.compare_model = args.compare
        window.environment_ready.connect(self._on_environment)

    def _on_environment(self, env) -> None:  # noqa: ANN001 - model_choices.Environment
        # A model asked for on the command line that cannot be used: say so and fail, rather than
        # take a picture of another model's result.
        bad = [(a, env.problems[a]) for a in (self.args.model, self.args.compare) if a and a in env.problems]
        for want, problem in bad:
            print(f"srgan-desktop: cannot use model {want}: {problem}", file=sys.stderr)
        if bad:
            self.abort = True  # _poll quits once no worker runs (a QThread must not outlive the app)
            self.window.runner.cancel()

    def _ready(self) -> bool:
        w = self.window
        if w.environment is None or w.runner.running or w.runner.busy:
            return False
        if self.args.open and (len(w.queue) == 0 or w.queue.next_waiting() is not None):
            return False
        if self.args.open and w.queue.overall().done and w._shown_id < 0:
            return False
        return not w.region.pending

    def _poll(self) -> None:
        w = self.window
        if self.abort:
            if w.runner.running:  # the file scan finished after the models loaded and started it
                w.runner.cancel()
            elif not w.runner.busy:
                self._finish(save=False)
            return
        if time.monotonic() - self.started > self.args.timeout:
            print(f"srgan-desktop: --screenshot gave up after {self.args.timeout:.0f} s", file=sys.stderr)
            self._finish(save=True)
            return
        if not self._ready():
            return
        if not self.compared:
            if not self.comparing and w._shown_id >= 0:
                self.comparing = True
                w.compare_done.connect(self._on_compared)
                w.compare_models()
            return
        if not self.view_applied:
            self.view_applied = True
            self._apply_view()  # the region readouts recompute for the new view: poll again
            return
        self._finish(save=True)

    def _on_compared(self, error: str) -> None:
        if not error:
            self.compared = True
            return
        print(f"srgan-desktop: Compare failed: {error}", file=sys.stderr)  # no second result will come
        self._finish(save=True)

    def _apply_view(self) -> None:
        state = self.window.comparison
        if self.args.layers:
            left, _, right = self.args.layers.partition(",")
            if left in state.layers and right in state.layers:
                state.set_pair(left, right)
        if self.args.zoom:
            state.set_zoom(self.args.zoom / 100.0 / state.pixel_ratio)
        if self.args.loupe:
            pw, ph = state.pane_size()
            state.set_loupe(True)
            state.set_cursor(state.to_canvas(pw * 0.45, ph * 0.4))

    def _finish(self, save: bool) -> None:
        from PySide6.QtCore import QEventLoop
        from PySide6.QtWidgets import QApplication

        if self.finished:  # e.g. the environment reloaded after the window closed
            return
        self.finished = True
        self.timer.stop()
        w = self.window
        if save:
            # A local loop's processEvents: the static QApplication.processEvents of PySide6 6.12
            # leaks a reference to None per call on Python 3.11.
            QEventLoop().processEvents()
            out = self.args.screenshot.expanduser()
            out.parent.mkdir(parents=True, exist_ok=True)
            ok = w.grab().save(str(out))
            o = w.queue.overall()
            print(f"srgan-desktop: {o.done} done, {o.failed} failed; screenshot {'saved to ' + str(out) if ok else 'NOT saved'}",
                  file=sys.stderr)
            state, shown = w.comparison, w.results.get(w._shown_id)
            if state.layers:
                models = ", ".join(f"{k}: {v}" for k, v in (shown.models if shown else {}).items())
                print(f"  comparator: {state.left} | {state.right} ({models})", file=sys.stderr)
            for item in w.queue.items:
                if item.error:
                    print(f"  {item.path.name}: {item.error}", file=sys.stderr)
            in_time = time.monotonic() - self.started <= self.args.timeout
            self.exit_code = 0 if ok and not o.failed and in_time and self.compared else 1
        w.persist = False
        from srgan_desktop.worker import shutdown_workers

        w.runner.cancel()  # e.g. gave up while an item still runs: the window closes at once
        shutdown_workers(10.0)
        w.close()
        QApplication.quit()
