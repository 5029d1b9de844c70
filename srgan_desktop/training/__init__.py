"""Training in the desktop app: the wizard, the live monitor and the list of runs.

The main window calls :func:`install_training` once; this package holds only widgets, pages and
the controller. Their Qt-free logic is the core's ``trainer.train.support``:

* ``wizard`` and ``page_*``: the five-page wizard that edits a ``ConfigDraft``
  (``support.config_draft``) and produces a ``TrainingConfig``; the folder check
  (``support.data_check``) and the speed probe (``support.probe``) run as its worker jobs.
* ``session``: one run of ``trainer.train.train`` in the application's worker thread, folded into
  the ``MonitorState`` the monitor observes (``support.run_state``: loss history, status, ETA).
* ``monitor`` and ``plots``: the dock with curves, validation crops, controls and error advice
  (``support.advice``); ``runs_panel``: past and interrupted runs (``support.runs``);
  ``controller``: the glue, which installs a run's models in the model picker (``support.run_models``).

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
