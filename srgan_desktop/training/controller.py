"""Training inside the main window: menu actions, the runs and monitor docks, and the run in progress.

:class:`TrainingController` owns at most one :class:`TrainingSession` (one run at a time: two runs
would share one device and both crawl). It installs each exported model as a user model and asks
the window to reload its model list, so a finished model is in the picker at once; it turns the
monitor's error actions into new or resumed runs; and it stops a run cleanly (checkpoint) when the
window closes, so the run can be resumed next time.
"""

from __future__ import annotations

import dataclasses
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu

from srgan_desktop.fit import scrolled
from srgan_desktop.training.runs_panel import RunsPanel
from srgan_desktop.training.session import TrainingSession
from srgan_desktop.worker import start_worker
from trainer.train.events import CheckpointSaved, Finished, ModelExported  # plain dataclasses: no torch
from trainer.train.layout import CHECKPOINT_DIR, CONFIG_FILE

if TYPE_CHECKING:
    from trainer.config import TrainingConfig

SHUTDOWN_TIMEOUT_S = 60.0


class TrainingController(QObject):
    """Adds "Train…" and the training docks to ``window``; see the module docstring."""

    def __init__(self, window: QMainWindow, *, auto_probe: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.auto_probe = auto_probe
        self.session: TrainingSession | None = None
        self.wizard = None
        self.installed: list[str] = []  # user-model names installed by this controller, newest last
        self._monitor = None  # built on first use: pyqtgraph is not imported while the window starts
        self.runs = RunsPanel(self._active_runs, window)
        placeholder = QLabel("No training run yet: Training > Train a model… (Ctrl+T)", window)
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.monitor_dock = self._dock("Training monitor", "dock_training_monitor", placeholder,
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.runs_dock = self._dock("Training runs", "dock_training_runs", self.runs, Qt.DockWidgetArea.LeftDockWidgetArea)
        queue = window.findChild(QDockWidget, "dock_queue")
        if queue is not None:
            window.tabifyDockWidget(queue, self.runs_dock)
            queue.raise_()
        self.monitor_dock.hide()
        self.train_action = QAction("Train a model…", window)
        self.train_action.setShortcut(QKeySequence("Ctrl+T"))
        self.train_action.setToolTip("Train your own upscaling model with a step-by-step wizard (Ctrl+T)")
        self.train_action.triggered.connect(lambda: self.open_wizard())  # not open_wizard(checked)
        window.addAction(self.train_action)
        self.menu = self._menu()
        self.runs.new_requested.connect(lambda: self.open_wizard())
        self.runs.resume_requested.connect(lambda path: self.resume(path))
        self.runs.show_requested.connect(self.show_run)
        self.runs.compare_requested.connect(self._compare_run)
        self.runs_dock.visibilityChanged.connect(self._runs_visible)
        self.monitor_dock.visibilityChanged.connect(self._monitor_visible)
        window.installEventFilter(self)

    def _runs_visible(self, visible: bool) -> None:
        if visible:
            self.runs.refresh()

    def _monitor_visible(self, visible: bool) -> None:
        if visible:
            _ = self.monitor  # build it now that it is seen

    @property
    def monitor(self):  # noqa: ANN201 - MonitorWidget (imported lazily)
        """The monitor widget (created, with its plots, the first time it is needed)."""
        if self._monitor is None:
            from srgan_desktop.training.monitor import MonitorWidget

            self._monitor = MonitorWidget(self.window)
            self._monitor.action_requested.connect(self.handle_action)
            old = self.monitor_dock.widget()
            self.monitor_dock.setWidget(scrolled(self._monitor))
            if old is not None:
                old.deleteLater()
        return self._monitor

    def _dock(self, title: str, name: str, widget, area: Qt.DockWidgetArea) -> QDockWidget:  # noqa: ANN001
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)  # saveState/restoreState keep the layout by this name
        dock.setWidget(scrolled(widget))  # never grows the window (srgan_desktop/fit.py)
        self.window.addDockWidget(area, dock)
        return dock

    def _menu(self) -> QMenu:
        bar = self.window.menuBar()
        menu = QMenu("&Training", self.window)
        view = next((a for a in bar.actions() if a.text().replace("&", "") == "View"), None)
        bar.insertMenu(view, menu) if view is not None else bar.addMenu(menu)
        menu.addAction(self.train_action)
        menu.addSeparator()
        menu.addAction(self.runs_dock.toggleViewAction())
        menu.addAction(self.monitor_dock.toggleViewAction())
        return menu

    def _say(self, text: str) -> None:
        message = getattr(self.window, "message", None)
        if message is not None:
            message.emit(text)
        else:
            self.window.statusBar().showMessage(text, 15000)

    def _active_runs(self) -> list[str]:
        return [str(self.session.run_dir)] if self.busy else []

    @property
    def busy(self) -> bool:
        """True while a run is training."""
        return self.session is not None and self.session.running

    # -- starting runs -----------------------------------------------------------------------------
    def open_wizard(self, draft: Any = None) -> Any:
        """Open the training wizard (non-modal) on ``draft`` (a ``ConfigDraft``, None: a new one)."""
        from srgan_desktop.training.wizard import TrainingWizard

        if self.wizard is not None and self.wizard.isVisible():
            self.wizard.raise_()
            return self.wizard
        self.wizard = TrainingWizard(draft, self.window, auto_probe=self.auto_probe)
        self.wizard.start_requested.connect(self.start)
        self.wizard.show()
        return self.wizard

    def start(self, request: Any) -> TrainingSession | None:
        """Start the run of a wizard's ``StartRequest``."""
        return self._run(request.config, request.run_dir, speed=getattr(request, "speed", None))

    def resume(self, run_dir: str | Path, overrides: dict[str, Any] | None = None) -> TrainingSession | None:
        """Continue a run from its newest checkpoint (``overrides`` change e.g. the learning rate)."""
        from trainer.config import ConfigError, apply_overrides, load

        try:
            config = load(Path(run_dir) / CONFIG_FILE)
            if overrides:
                config = apply_overrides(config, overrides)
        except ConfigError as exc:
            self._say(f"Cannot resume {Path(run_dir).name}: {exc}")
            return None
        return self._run(config, Path(run_dir), resume=True)

    def _run(self, config: TrainingConfig, run_dir: Path, speed: dict[str, float] | None = None,
             **kwargs: Any) -> TrainingSession | None:
        if self.busy:
            self._say("A model is already training; stop it first (one run at a time).")
            self.monitor_dock.show()
            return None
        session = TrainingSession(config, run_dir, parent=self, **kwargs)
        session.event.connect(self._on_event)
        session.ended.connect(self._on_ended)
        self.session = session
        session.state.plan_phases(config, speed)
        self.monitor.attach(session.state, session, config)
        self.monitor_dock.show()
        self.monitor_dock.raise_()
        session.start()
        self.runs.refresh()
        return session

    # -- events of the run -------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        if isinstance(event, ModelExported):
            from trainer.train.support.run_models import install_export, model_name

            name = model_name(self.session.run_dir, self.session.config, event.phase)
            try:
                install_export(event.path, name)
            except Exception as exc:  # noqa: BLE001 - the run goes on; the model stays in its folder
                self.session.state.note(f"Could not add {Path(event.path).name} to the model picker: {exc}")
                return
            self._installed(name)
        elif isinstance(event, CheckpointSaved) and event.reason == "request":
            from trainer.train.support.run_models import save_snapshot

            session = self.session
            start_worker(save_snapshot, event.path, session.run_dir,
                         connect={"returned": lambda result: self._installed(result[1]),
                                  "errored": lambda text: session.state.note(f"Could not save the model: {text}")})

    def _installed(self, name: str) -> None:
        self.installed.append(name)
        if self.session is not None:
            self.session.state.note(f"Added to the model picker as {name}")
        self._say(f"Model {name} is in the model picker")
        reload = getattr(self.window, "load_environment", None)
        if reload is not None:
            reload()

    def _on_ended(self, event: Any) -> None:
        self.runs.refresh()
        if isinstance(event, Finished) and not event.stopped:
            self._say(f"Training finished: {Path(event.run_dir).name}")

    # -- actions -----------------------------------------------------------------------------------
    def handle_action(self, name: str) -> None:
        """Run an action of the monitor's error panel (or ``open_model``)."""
        session = self.session
        if name == "open_model":
            if self.monitor.state.run_dir:
                self._compare_run(self.monitor.state.run_dir)
            return
        if name == "new_run":
            self.open_wizard()
            return
        if session is None or session.running:
            return
        config, run_dir = session.config, session.run_dir
        if name == "resume":
            self.resume(run_dir)
        elif name == "retry_lr":
            lr = {f"phases.{i}.optimizer.lr": p.optimizer.lr / 2 for i, p in enumerate(config.phases)}
            self.resume(run_dir, {**lr, "runtime.precision": "fp32"})
        elif name in ("retry_batch", "retry_crop", "pixel_loss"):
            self._retry(config, run_dir, name)

    def _retry(self, config: TrainingConfig, run_dir: Path, how: str) -> None:
        from trainer.config import apply_overrides
        from trainer.train.support.config_draft import ConfigDraft, use_pixel_loss

        data = config.data
        if how == "retry_batch":
            config = apply_overrides(config, {"data.batch_size": max(1, data.batch_size // 2)})
        elif how == "retry_crop":
            config = apply_overrides(config, {"data.crop": max(4 * data.scale, (data.crop * 3 // 4) // data.scale * data.scale)})
        else:
            draft = ConfigDraft.from_config(config)
            use_pixel_loss(draft)
            config = dataclasses.replace(draft.build(), data=config.data)
        # The failed run's folder is reused when it has no checkpoint (a run that failed at its first steps).
        target = run_dir if not (run_dir / CHECKPOINT_DIR).is_dir() else _sibling(run_dir)
        self._run(config, target)

    def show_run(self, run_dir: str | Path) -> None:
        """Show a past run's curves in the monitor (the live run stays attached while it trains)."""
        if self.busy and Path(run_dir) == self.session.run_dir:
            self.monitor_dock.show()
            return
        if self.busy:
            self._say("The monitor shows the run in progress; stop it to look at another run's curves.")
            return
        from trainer.config import load
        from trainer.train.runlog import read_metrics

        from trainer.train.support.run_state import state_from_records

        state = state_from_records(run_dir, read_metrics(run_dir))
        try:
            config = load(Path(run_dir) / CONFIG_FILE)
        except Exception:  # noqa: BLE001 - the curves are shown without the config
            config = None
        self.session = None
        self.monitor.attach(state, None, config)
        self.monitor_dock.show()
        self.monitor_dock.raise_()

    def _compare_run(self, run_dir: str) -> None:
        """Install the newest model of a run (if needed) and compare it in the viewer."""
        from trainer.config import load

        from trainer.train.support.run_models import install_export, name_for_file
        from trainer.train.support.runs import read_run

        info = read_run(run_dir)
        model = info.final_model
        if model is None:
            self._say(f"{info.name} has no model yet")
            return
        try:
            name = name_for_file(run_dir, load(Path(run_dir) / CONFIG_FILE), model)
            install_export(model, name)
        except Exception as exc:  # noqa: BLE001 - a message, not a crash
            self._say(f"Cannot use {model.name}: {exc}")
            return
        self.open_in_comparator(name)

    def open_in_comparator(self, name: str) -> None:
        """Make model ``name`` the window's "Compare with" model and compare it on the shown image."""
        w = self.window
        settings = getattr(w, "settings", None)
        if settings is None or not hasattr(w, "environment_ready"):
            return
        settings.compare_model = name

        def compare(_env: Any) -> None:
            if getattr(w, "results", None):  # an image was processed: compare on it now
                w.compare_models()
            else:
                self._say(f"{name} is now the 'Compare with' model: open an image, then Evaluate > Compare models (Ctrl+M)")

        w.environment_ready.connect(compare, type=Qt.ConnectionType.SingleShotConnection)
        w.load_environment()

    # -- closing -----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop a running training cleanly (checkpoint + model) before the application exits."""
        if self.wizard is not None:
            self.wizard.close()
        if self.busy:
            self.session.shutdown(SHUTDOWN_TIMEOUT_S)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        # A window that may refuse to close (MainWindow asks first while a job runs) calls shutdown()
        # itself once it really closes.
        if obj is self.window and event.type() == QEvent.Type.Close and not getattr(obj, "shuts_down_training", False):
            try:
                self.shutdown()
            except Exception:  # noqa: BLE001 - a Qt virtual must not raise; the window closes anyway
                traceback.print_exc()
        return False


def _sibling(run_dir: Path) -> Path:
    n = 2
    while (run_dir.parent / f"{run_dir.name}-{n}").exists():
        n += 1
    return run_dir.parent / f"{run_dir.name}-{n}"
