"""The main window: queue (left), comparator (centre), options and readouts (right).

Files and folders dropped anywhere on the window (or opened, or pasted) join the queue; the runner
processes them in a worker; the selected item's result is shown in the comparator with its
readouts. Nothing here imports torch: the core is loaded by the warm-up worker after the window
is shown (:meth:`MainWindow.load_environment`).
"""

from __future__ import annotations

import traceback
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow, QVBoxLayout, QWidget

from srgan_desktop.compare_run import CompareRun
from srgan_desktop.comparator_panel import ComparatorPanel, make_view_actions
from srgan_desktop.dropping import DropTarget
from srgan_desktop.fit import install_wheel_guard, resize_within_screen, scrolled
from srgan_desktop.help_menu import install_help
from srgan_desktop.options_panel import OptionsPanel
from srgan_desktop.queue_panel import QueuePanel
from srgan_desktop.queue_runner import QueueRunner
from srgan_desktop.readouts import ReadoutPanel, RegionMetrics
from srgan_desktop.settings import AppSettings, load_window, save_settings, save_window
from srgan_desktop.state.comparison_state import ComparisonState
from srgan_desktop.state.queue_state import QueueItem, QueueModel, Status
from srgan_desktop.training import install_training
from srgan_desktop.window_actions import close_when, confirm_quit, make_banner, make_window_actions, make_window_menus
from srgan_desktop.worker import shutdown_workers, start_worker
from trainer.app.files import Found, Thumb, not_an_image_reason, scan, thumbnails
from trainer.imageio.files import SUPPORTED_SUFFIXES
from trainer.app.jobs import ItemResult, JobOptions, compare_item, process_item
from trainer.app.model_choices import Environment, ModelChoice, import_model_file, load_environment, open_model_file
from trainer.naming import validate_template
from trainer.pipeline.models import AUTO

IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in SUPPORTED_SUFFIXES) + ");;All files (*)"
MODEL_FILTER = "Model files (*.safetensors *.pth *.pt);;All files (*)"
KEEP_RESULTS = 6  # results kept in memory for the comparator (each holds several full-size layers)
KEEP_BYTES = 1_500_000_000  # ... and at most this much of them (a 4000x3000 photo's result is ~1.5 GB)


class MainWindow(DropTarget, QMainWindow):
    """The application window. ``environment_ready`` once models/devices are known;
    ``result_shown(item_id)`` when the comparator shows an item; ``compare_done(error)`` when a
    "Compare models" run ends ("" = the two models are shown); ``message(str)`` for notices."""

    environment_ready = Signal(object)
    result_shown = Signal(int)
    compare_done = Signal(str)
    message = Signal(str)

    def __init__(self, settings: AppSettings, store: QSettings, *, job: Callable[..., Any] = process_item,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SRGAN Desktop")
        install_wheel_guard()
        self.setAcceptDrops(True)
        self.settings, self.store = settings, store
        self.environment: Environment | None = None
        self._start_when_ready = False
        self._env_requested = False
        self._shown_id = -1
        self._quitting = False  # a close was confirmed while a job ran: close once it has stopped
        self.persist = True  # save settings and window layout on close
        self._planner: tuple[tuple, Any] | None = None  # (output rules, trainer.pipeline.Planner)
        self._thumbs_pending: list[tuple[int, Path]] = []
        self._thumbs_running = False
        self.results: OrderedDict[int, ItemResult] = OrderedDict()
        self.queue = QueueModel(self)
        self.runner = QueueRunner(self.queue, self.options_for, job, self)
        self.comparison = ComparisonState(self)
        self.comparison.mode, self.comparison.loupe = settings.view_mode, settings.loupe

        self.actions_by_name = self._make_actions()
        self.view_actions = make_view_actions(self.comparison, self)
        self.addActions(list(self.view_actions.values()))
        self.comparator = ComparatorPanel(self.comparison, self.view_actions, self)
        self.banner = self._make_banner()
        central = QWidget(self)
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.banner)
        col.addWidget(self.comparator, 1)
        self.setCentralWidget(central)

        a = self.actions_by_name
        queue_actions = [a[n] for n in ("start", "pause", "cancel", "remove", "retry", "evaluate_selected", "clear")]
        self.queue_panel = QueuePanel(self.queue, queue_actions, self)
        self.options = OptionsPanel(settings, self)
        self.readouts = ReadoutPanel(self)
        self.region = RegionMetrics(self.comparison, self)
        docks = [self._dock("Queue", self.queue_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock("Readouts", self.readouts, Qt.DockWidgetArea.RightDockWidgetArea),
                 self._dock("Options", self.options, Qt.DockWidgetArea.RightDockWidgetArea)]
        self._make_menus()
        install_training(self)  # Training menu (Ctrl+T), Training runs / Training monitor docks
        self.help_actions = install_help(self)  # Help menu: shortcuts (F1), About
        self.status_label = QLabel(self)
        self.compare_progress = CompareRun(self)  # a "Compare with" run in progress
        self.statusBar().addPermanentWidget(self.compare_progress)
        self.statusBar().addPermanentWidget(self.status_label)

        self.queue_panel.selection_changed.connect(self.show_item)
        self.options.import_requested.connect(self.import_model)
        self.options.compare_requested.connect(self._compare_chosen)
        self.options.changed.connect(self._settings_changed)
        self.runner.result_ready.connect(self._on_result)
        self.runner.running_changed.connect(self._update_actions)
        self.runner.paused_changed.connect(self._update_actions)
        self.runner.queue_finished.connect(self._on_queue_finished)
        self.region.updated.connect(self.readouts.set_region)
        self.queue.overall_changed.connect(self._update_actions)
        self.queue.removed.connect(lambda _row: self._forget_removed())
        self.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        resize_within_screen(self, 1400, 880)
        # After the window has its size (docks scroll, so nothing else would hold their width).
        self.resizeDocks(docks, [340, 430, 430], Qt.Orientation.Horizontal)
        self.resizeDocks(docks[1:], [440, 320], Qt.Orientation.Vertical)
        geometry, state = load_window(store)
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._update_actions()

    # -- construction helpers ------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        # The content scrolls below its natural size: a dock never grows the window (fit.py).
        dock.setWidget(scrolled(widget))
        self.addDockWidget(area, dock)
        return dock

    def _make_actions(self) -> dict[str, QAction]:
        return make_window_actions(self)

    def _make_menus(self) -> None:
        make_window_menus(self)

    def set_theme(self, name: str) -> None:
        """Switch between the system, light and dark themes (remembered)."""
        from srgan_desktop.theme import apply_theme

        self.settings.theme = name
        apply_theme(QApplication.instance(), name)

    def _make_banner(self) -> QFrame:
        frame, self.banner_label = make_banner(self, self.import_model)
        return frame

    # -- start-up: the core is imported in a worker after the window is shown -------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        # Normally the first paint starts the warm-up; a window shown minimised gets none.
        QTimer.singleShot(1000, self._warm_up)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.Paint and not self._env_requested:
            QTimer.singleShot(0, self._warm_up)  # after this first frame is on screen
        return handled

    def _warm_up(self) -> None:
        if not self._env_requested:
            self._env_requested = True
            self.load_environment()

    @Slot()
    def load_environment(self) -> None:
        self.status_label.setText("Loading models…")
        wanted = [self.settings.model, self.settings.compare_model]  # model files are used where they are
        start_worker(load_environment, wanted, self.settings.imported_models(), connect={"returned": self._on_environment, "errored": self._on_environment_error})

    @Slot(object)
    def _on_environment(self, env: Environment) -> None:
        self.environment = env
        self.options.set_environment(env)
        for want, problem in env.problems.items():
            self.message.emit(f"Cannot use model {want}: {problem}")
        if self.settings.model == AUTO and env.auto is not None and env.auto.notice:
            self.message.emit(env.auto.notice)  # said once, when the models are listed
        self.banner_label.setText(env.message)
        self.banner.setVisible(bool(env.message) and not env.usable())
        if env.message:
            self.comparator.view.set_placeholder("Drop images or folders anywhere on this window.\n\n" + env.message)
        self._update_status()
        self.environment_ready.emit(env)
        if self._start_when_ready:
            self._start_when_ready = False
            self.runner.start()

    @Slot(str)
    def _on_environment_error(self, text: str) -> None:
        self._on_environment(Environment(message=f"Could not load the models: {text}"))

    # -- adding files ----------------------------------------------------------------------------
    def add_paths(self, paths: list[Path], evaluate: bool | None = None) -> None:
        """Queue files and folders (folders recursively, in a worker)."""
        if not paths:
            return
        mode = self.settings.evaluate if evaluate is None else evaluate
        start_worker(scan, [str(p) for p in paths], connect={"yielded": lambda found: self._on_found(found, mode)})

    def _on_found(self, found: Found, evaluate: bool) -> None:
        ids = self.queue.add(list(found.entries), evaluate=evaluate)
        if ids:
            self._thumbs_pending += [(i, self.queue.get(i).path) for i in ids]
            self._next_thumbnails()
            if self.settings.autostart:
                self.start_processing()

    def _next_thumbnails(self) -> None:
        """One thumbnail worker at a time (a big folder arrives in many batches)."""
        if self._thumbs_running or not self._thumbs_pending:
            return
        entries, self._thumbs_pending = self._thumbs_pending, []
        self._thumbs_running = True
        start_worker(thumbnails, entries, connect={"yielded": self._on_thumb, "finished": self._on_thumbs_done})

    def _on_thumbs_done(self) -> None:
        self._thumbs_running = False
        self._next_thumbnails()

    @Slot(object)
    def _on_thumb(self, thumb: Thumb) -> None:
        self.queue.update(thumb.item_id, thumbnail=thumb.pixels, size=thumb.size, file_bytes=thumb.file_bytes)
        item = self.queue.get(thumb.item_id)
        reason = not_an_image_reason(thumb.error)
        if reason and item is not None and item.status is Status.WAITING:
            # Said now, not when its turn comes (or never, without autostart).
            self.queue.update(item.id, status=Status.FAILED, error=reason, stage="")
            self.message.emit(f"{item.path.name}: {reason}")

    @Slot()
    def open_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_open_dir, IMAGE_FILTER)
        if files:
            self.settings.last_open_dir = str(Path(files[0]).parent)
            self.add_paths([Path(f) for f in files])

    @Slot()
    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", self.settings.last_open_dir)
        if folder:
            self.settings.last_open_dir = folder
            self.add_paths([Path(folder)])

    @Slot()
    def evaluate_selected(self) -> None:
        items = [self.queue.get(i) for i in self.queue_panel.selected_ids()]
        ids = self.queue.add([(it.path, it.root) for it in items if it is not None], evaluate=True)
        if ids:
            self.start_processing()

    # -- processing ------------------------------------------------------------------------------
    def options_for(self, item: QueueItem, *, model: str | None = None, save: bool = True) -> JobOptions:
        """The job options of ``item`` from the current settings (raises on an unusable template)."""
        s = self.settings
        validate_template(s.template)
        out_dir = Path(s.output_dir).expanduser()
        size = s.output_size()
        planner = self._planner_for(out_dir, s.template, s.format, s.quality, size) if save and not item.evaluate else None
        return JobOptions(model=(model if model is not None else s.model) or None, device=s.device, precision=s.precision,
                          tile=s.tile or None, backend=s.backend,
                          evaluate=item.evaluate, save=save, out_dir=out_dir, template=s.template,
                          fmt=s.format, quality=s.quality, protect=self.queue.input_paths(), planner=planner, size=size)

    def _planner_for(self, out_dir: Path, template: str, fmt: str, quality: int, size: Any = None) -> Any:
        """One ``trainer.pipeline.Planner`` while the output rules stay the same: an item gets the
        name ``srgan-upscale`` would give it in a run over the whole queue, and a failed item keeps
        its name for a retry."""
        from trainer.pipeline import OutputRules, Planner

        from trainer.pipeline import OutputSize

        size = size if size is not None else OutputSize()
        key = (out_dir, template, fmt, quality, size)
        if self._planner is None or self._planner[0] != key:
            self._planner = (key, Planner(OutputRules(out_dir, template, fmt, quality, size=size)))
        return self._planner[1]

    @Slot()
    def start_processing(self) -> None:
        if self.environment is None:
            self._start_when_ready = True  # the model list is still loading
            self.message.emit("Loading the models; processing starts when they are ready")
            return
        self.runner.start()

    @Slot(int, object)
    def _on_result(self, item_id: int, result: ItemResult) -> None:
        self._keep(item_id, result)
        selected = self.queue_panel.selected_ids()
        if not selected:
            self.queue_panel.select_item(item_id)  # shows it through selection_changed
        elif item_id in selected:
            self.show_item(item_id)

    def _keep(self, item_id: int, result: ItemResult) -> None:
        """Remember a result for the comparator; the oldest ones are dropped beyond
        :data:`KEEP_RESULTS` items or :data:`KEEP_BYTES` of layers (the shown one always stays)."""
        self.results[item_id] = result
        self.results.move_to_end(item_id)

        def size(r: ItemResult) -> int:
            return sum(sum(level.nbytes for level in layer.levels) for layer in r.layers.values())

        while len(self.results) > 1 and (len(self.results) > KEEP_RESULTS or sum(map(size, self.results.values())) > KEEP_BYTES):
            old = next((i for i in self.results if i not in (self._shown_id, item_id)), None)
            if old is None:
                break
            self.results.pop(old)

    @Slot(int)
    def show_item(self, item_id: int) -> None:
        """Show an item's result in the comparator and the readouts (recomputed if it was dropped
        from memory)."""
        result = self.results.get(item_id)
        item = self.queue.get(item_id)
        if result is None:
            if item is not None and item.status is Status.DONE:
                self._recompute(item)
            return
        self._shown_id = item_id
        self.comparison.set_layers(result.layers)
        self.readouts.show_result(result)
        self.region.set_result(result)
        self.result_shown.emit(item_id)

    def _forget_removed(self) -> None:
        """Items removed from the queue ("Clear finished", Remove) leave the comparator and the
        memory: the view never shows an image that is no longer listed."""
        listed = {it.id for it in self.queue.items}
        for item_id in [i for i in self.results if i not in listed]:
            self.results.pop(item_id)
        if self._shown_id >= 0 and self._shown_id not in listed:
            self._shown_id = -1
            self.comparison.set_layers({})
            self.readouts.show_result(None)
            self.region.set_result(None)

    def _recompute(self, item: QueueItem) -> None:
        self.message.emit(f"Preparing the comparison of {item.path.name}…")
        options = self.options_for(item, save=False)
        start_worker(process_item, item.path, item.root, options, cancel_kwarg="cancel",
                     connect={"returned": lambda r, i=item.id: self._on_recomputed(i, r), "errored": self.message.emit})

    def _on_recomputed(self, item_id: int, result: ItemResult) -> None:
        self._keep(item_id, result)
        if item_id in self.queue_panel.selected_ids():
            self.show_item(item_id)

    @Slot()
    def compare_models(self) -> None:
        """Run the "Compare with" model on the shown item and put the two models on either side."""
        result = self.results.get(self._shown_id)
        if result is None:
            self.message.emit("Select a processed item first")
            return
        if not self.settings.compare_model:
            self.message.emit("Choose a second model in Options > Compare with")
            return
        if self.settings.compare_model == result.models.get("sr"):
            self.message.emit(f"{result.source.name} was upscaled with {self.settings.compare_model}: choose another model to compare with")
            self.compare_done.emit("same model")
            return
        item = self.queue.get(self._shown_id) or QueueItem(-1, result.source, evaluate=result.evaluate)
        options = self.options_for(item, model=self.settings.compare_model, save=False)
        self.message.emit(f"Running {self.settings.compare_model} on {result.source.name}…")
        self.compare_progress.start(compare_item, result, options, model=self.settings.compare_model,
                                    source=result.source.name, returned=self._on_compared, errored=self._on_compare_failed)

    def _compare_chosen(self) -> None:
        """A "Compare with" model was picked: compare it on the shown item at once (if any)."""
        if self._shown_id in self.results:
            self.compare_models()

    def _on_compare_failed(self, text: str) -> None:
        self.message.emit(f"Compare failed: {text}")
        self.compare_done.emit(text)

    def _on_compared(self, result: ItemResult) -> None:
        item_id = next((i for i, r in self.results.items() if r.source == result.source and r.evaluate == result.evaluate), self._shown_id)
        self._keep(item_id, result)
        self.show_item(item_id)
        self.comparison.set_pair("sr", "sr2")
        self.message.emit(f"Comparing {result.models.get('sr')} (left) with {result.models.get('sr2')} (right)")
        self.compare_done.emit("")

    @Slot()
    def _on_queue_finished(self) -> None:
        o = self.queue.overall()
        if o.total:
            self.message.emit(f"Queue finished: {o.done} done, {o.failed} failed, {o.cancelled} cancelled")
        self._update_actions()

    # -- models ----------------------------------------------------------------------------------
    @Slot()
    def import_model(self, path: str | None = None, *, install: bool = False) -> None:
        """Use a model file where it is (checked in a worker, remembered by path, nothing copied),
        or with ``install`` copy it into the user's models folder (listed as "yours")."""
        verb = "Install" if install else "Import"
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, f"{verb} model file", self.settings.last_open_dir, MODEL_FILTER)
        if path:
            start_worker(import_model_file if install else open_model_file, path, connect={
                "returned": self._on_imported, "errored": lambda t: self.message.emit(f"{verb} failed: {t}")})

    @Slot()
    def install_model(self, path: str | None = None) -> None:
        self.import_model(path, install=True)

    def _on_imported(self, choice: ModelChoice) -> None:
        self.settings.model = choice.name
        if choice.source == "file":
            self.settings.remember_model_file(choice.name)
        self.message.emit(f"Imported {choice.label}")
        self.load_environment()

    # -- misc ------------------------------------------------------------------------------------
    def _toggle_evaluate(self, on: bool) -> None:
        self.options.evaluate.setChecked(on)

    def _settings_changed(self) -> None:
        self.actions_by_name["evaluate"].setChecked(self.settings.evaluate)
        self._update_status()

    def _update_status(self) -> None:
        s = self.settings
        model = s.model or ("bicubic only" if self.environment is not None else "loading…")
        self.status_label.setText(f"Model {model} · {s.device} · {'evaluation' if s.evaluate else 'upscale'} mode")

    @Slot()
    def open_output_folder(self) -> None:
        folder = Path(self.settings.output_dir).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _update_actions(self, *_args) -> None:
        a, r = self.actions_by_name, self.runner
        waiting = self.queue.next_waiting() is not None
        a["start"].setEnabled(waiting and not r.running)  # while paused, "Resume" is the one way on
        a["pause"].setEnabled(r.running)
        a["pause"].setText("Resume" if r.paused else "Pause")
        a["cancel"].setEnabled(r.running or r.busy)

    shuts_down_training = True  # closeEvent stops a training run (see TrainingController.eventFilter)

    def confirm_quit(self) -> bool:
        """Ask whether to quit while an upscale runs (tests replace this)."""
        return confirm_quit(self)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.runner.running or self.runner.busy:
            # Never block the GUI thread on a running job: ask, cancel, and close when it has stopped
            # (the engine stops within about a layer; the outputs already saved stay).
            if not self._quitting:
                if self.persist and not self.confirm_quit():
                    event.ignore()
                    return
                self._quitting = True
                self.runner.cancel()
                self.statusBar().showMessage("Cancelling the current image, then quitting…")
                close_when(self, lambda: not (self.runner.running or self.runner.busy))
            event.ignore()
            return
        self._really_close(event)

    def _really_close(self, event) -> None:  # noqa: ANN001
        try:
            self.training.shutdown()  # a training run saves its checkpoint and model first
        except Exception:  # noqa: BLE001 - a Qt virtual must not raise; the window closes anyway
            traceback.print_exc()
        if self.persist:
            self.settings.view_mode, self.settings.loupe = self.comparison.mode, self.comparison.loupe
            save_settings(self.store, self.settings)
            save_window(self.store, self.saveGeometry(), self.saveState())
        self.runner.cancel()
        shutdown_workers(10.0)
        super().closeEvent(event)
