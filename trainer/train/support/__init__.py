"""Around a training run, Qt-free: what the desktop app's wizard, monitor and runs list use.

* :mod:`.config_draft`: a recipe plus the user's edits, checked field by field (``Problem`` per
  wizard page) and built into a ``TrainingConfig``.
* :mod:`.data_check`: checking a training folder (decoded as the trainer decodes it), previews
  of training pairs; :mod:`.probe`: a short speed probe and the run's estimated duration.
* :mod:`.runs`: the runs on this computer (status from the log's tail; no torch);
  :mod:`.run_state`: a run's live state and curves folded from its events or log records;
  :mod:`.advice`: a failed run's error turned into advice and actions.
* :mod:`.run_models`: user-model names of a run's exports and installing them; the checkpoint
  export itself is :func:`trainer.train.export.export_checkpoint`.

These modules import torch only inside the functions that need it.
"""
