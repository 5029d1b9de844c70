"""Application logic of the desktop app, Qt-free, so commands and tests can use it too.

* :mod:`.jobs`: one queue item (upscale through :mod:`trainer.pipeline`, or evaluate against a
  ground truth) and "compare with another model", as generators of small events that the app's
  worker runs; :mod:`.analysis`: the readout figures (``trainer.metrics``, never reimplemented);
  :mod:`.layers`: the comparator's pictures as plain numpy data (display copies, pyramids, heat-map).
* :mod:`.files`: expanding dropped files and folders, queue thumbnails.
* :mod:`.model_choices`: what the model and device pickers offer; importing a model file.

Nothing here is imported eagerly and no module imports torch at import time: the window imports
some of these before torch is loaded (see DESIGN.md, lazy imports).
"""
