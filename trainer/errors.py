"""The base of the project's file errors: :class:`FileError` carries the ``path`` and the ``reason``.

``str(error)`` is ``"PATH: reason"`` (just ``reason`` when no path applies), the one-line form
the command lines print and the app shows. Derived: ``ImageReadError``, ``ImageWriteError``
(``trainer.imageio``), ``ModelFileError`` (``trainer.modelfile``), ``DataError``
(``trainer.train.data``), ``CheckpointError`` (``trainer.train.checkpoint``) and
``EvaluationError`` (``trainer.evaluation``). Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path


class FileError(Exception):
    """A file or folder the project cannot use (or must not write).

    ``FileError(path, reason)``, or ``FileError(message)`` when no single path applies (``path`` is
    then None and ``reason`` the message).
    """

    def __init__(self, path_or_reason: str | os.PathLike[str], reason: str | None = None) -> None:
        if reason is None:
            self.path: Path | None = None
            self.reason = str(path_or_reason)
            super().__init__(self.reason)
        else:
            self.path = Path(path_or_reason)
            self.reason = reason
            super().__init__(f"{os.fspath(path_or_reason)}: {reason}")

    def __reduce__(self):  # picklable with its arguments (errors cross DataLoader worker processes)
        return (type(self), (self.reason,) if self.path is None else (self.path, self.reason))
