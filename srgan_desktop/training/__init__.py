"""Training in the desktop app: the wizard, the live monitor and the list of runs.

The main window calls :func:`install_training` once; everything else lives in this package:

* ``wizard`` and ``page_*``: the five-page wizard that edits a ``config_draft.ConfigDraft`` and
  produces a ``TrainingConfig``; ``data_check`` and ``probe`` are its Qt-free worker jobs.
* ``session``: one run of ``trainer.train.train`` in the application's worker thread;
  ``training_state``: the plain state the monitor observes (loss history, status, ETA).
* ``monitor`` and ``plots``: the dock with curves, validation crops, controls and error advice
  (``errors``); ``runs`` / ``runs_panel``: past and interrupted runs; ``snapshot``: models of a run
  for the model picker; ``controller``: the glue.

Importing this package is cheap (no torch, no pyqtgraph); they load when training is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

    from srgan_desktop.training.controller import TrainingController


def install_training(window: QMainWindow, **kwargs) -> TrainingController:  # noqa: ANN003
    """Add the "Training" menu ("Train a model…", Ctrl+T), the "Training runs" and "Training
    monitor" docks to ``window``; returns the controller (also kept as ``window.training``)."""
    from srgan_desktop.training.controller import TrainingController

    controller = TrainingController(window, **kwargs)
    window.training = controller
    return controller
