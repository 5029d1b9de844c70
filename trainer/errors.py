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


def one_line(text: object) -> str:
    """``text`` with its line breaks and runs of spaces folded: errors are printed as one line."""
    return " ".join(str(text).split())


def _pickle_wants_code(path: str | os.PathLike[str] | None) -> bool:
    """True when ``path`` is a well-formed pickle naming globals or calling them (read with
    ``pickletools``, which only lists the opcodes and never runs anything)."""
    if path is None:
        return False
    import pickletools

    code_ops = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD"}
    try:
        with open(path, "rb") as fh:
            ops = [op.name for op, _arg, _pos in pickletools.genops(fh)]  # the whole pickle must parse
    except Exception:  # noqa: BLE001 - not a pickle at all: garbage
        return False
    return ops[-1:] == ["STOP"] and any(name in code_ops for name in ops)


def _text_file(path: str | os.PathLike[str] | None) -> bool:
    """True when ``path`` starts like a text file (UTF-8, printable, no NUL) and is not a complete
    protocol-0 pickle (those are text too, and one that names code must still be "refused")."""
    if path is None:
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if not head or b"\0" in head or head[:1] == b"\x80" or head[:2] == b"PK":  # binary pickle / torch zip
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the 4096 bytes is still text
        if exc.start < len(head) - 4:
            return False
        text = head[: exc.start].decode("utf-8")
    if not all(ch.isprintable() or ch in "\t\r\n\f" for ch in text):
        return False
    import pickletools

    try:
        with open(path, "rb") as fh:
            ops = [op.name for op, _arg, _pos in pickletools.genops(fh)]
    except Exception:  # noqa: BLE001 - does not parse as a pickle: plain text
        return True
    return ops[-1:] != ["STOP"]


def torch_load_reason(exc: BaseException, path: str | os.PathLike[str] | None = None) -> str:
    """A short reason for a failed ``torch.load(weights_only=True)``, one line.

    PyTorch's own message is a paragraph of advice (and suggests ``weights_only=False``, which this
    program never does); a pickle that names code or objects is "refused for safety", anything else
    is garbage or a truncated file.
    """
    text = str(exc)
    if _text_file(path):  # a README, an HTML error page or a link saved as .pth: not code, just not a model
        return "not a model file: it is a text file, not PyTorch weights (a web page or a note saved under a model's name?)"
    if "Unsupported global" in text or "GLOBAL" in text or "Unsupported class" in text or _pickle_wants_code(path):
        return ("the file contains code or Python objects besides weights and was refused for safety "
                "(only plain tensors and state dicts are read)")
    if "Weights only load failed" in text or "WeightsUnpickler" in text:
        detail = next((ln.strip() for ln in text.splitlines() if ln.strip().startswith("Unsupported")), "")
        return "not a readable PyTorch file (corrupt, truncated or not a pickle" + (f": {detail})" if detail else ")")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return f"not a readable PyTorch file (corrupt or truncated? {type(exc).__name__}: {first})"
