"""Results as they happen: one JSON line per check in ``results.jsonl`` and a text log ``gpu_run.log``.

Both files are flushed (and fsync'ed) after every record, so a run cut off by the device tool's
time limit still returns everything measured up to that moment. A check is written through
:meth:`Reporter.check`, a context manager that turns an exception into an ``error`` record (with
the end of the traceback) instead of ending the run: one broken check must not cost the others.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS_NAME = "results.jsonl"
LOG_NAME = "gpu_run.log"

PASS, FAIL, INFO, ERROR = "pass", "fail", "info", "error"
NO_CUDA = "skipped (no CUDA)"
NO_BUDGET = "skipped (budget)"
NOT_AVAILABLE = "skipped (not available)"


class Record:
    """What a check fills in: ``status`` (default info), ``detail`` text and ``figures``."""

    def __init__(self, phase: str, name: str) -> None:
        self.phase, self.name = phase, name
        self.status = INFO
        self.detail = ""
        self.figures: dict[str, Any] = {}

    def verdict(self, ok: bool, detail: str = "") -> None:
        """Set pass/fail from ``ok`` (and the detail, when given)."""
        self.status = PASS if ok else FAIL
        if detail:
            self.detail = detail

    def skip(self, status: str, detail: str = "") -> None:
        """Mark the check as skipped (one of the ``skipped (...)`` statuses)."""
        self.status, self.detail = status, detail


def _jsonable(value: Any) -> Any:
    """Floats rounded for reading, numpy/torch scalars made plain, anything else as text."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError, RuntimeError):
            pass
    return str(value)


class Reporter:
    """Writes records and log lines into ``out``; keeps the records for the summary."""

    def __init__(self, out: Path, *, echo: bool = True) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.t0 = time.perf_counter()
        self.records: list[dict[str, Any]] = []
        self._results = open(out / RESULTS_NAME, "a", encoding="utf-8")
        self._log = open(out / LOG_NAME, "a", encoding="utf-8")
        self.echo = echo

    def elapsed(self) -> float:
        """Seconds since the reporter was made (the run's clock)."""
        return time.perf_counter() - self.t0

    @staticmethod
    def _sync(fh) -> None:
        fh.flush()
        try:
            os.fsync(fh.fileno())
        except OSError:  # pragma: no cover - pipes, odd file systems
            pass

    def log(self, message: str) -> None:
        """A line on stdout and in the log, stamped with the run's clock."""
        line = f"[{self.elapsed():7.1f}s] {message}"
        if self.echo:
            print(line, flush=True)
        self._log.write(line + "\n")
        self._sync(self._log)

    def log_block(self, title: str, text: str) -> None:
        """A multi-line text (a benchmark's output) into the log only, framed by its title."""
        self._log.write(f"----- {title} -----\n{text.rstrip()}\n----- end of {title} -----\n")
        self._sync(self._log)

    def write(self, phase: str, name: str, status: str, detail: str = "", figures: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one record (and a log line)."""
        rec = {"t": round(self.elapsed(), 2), "phase": phase, "check": name, "status": status, "detail": detail,
               "figures": _jsonable(figures or {})}
        self.records.append(rec)
        self._results.write(json.dumps(rec) + "\n")
        self._sync(self._results)
        figs = ", ".join(f"{k}={v}" for k, v in rec["figures"].items() if not isinstance(v, (dict, list)))
        self.log(f"{phase}/{name}: {status.upper()}{' - ' + detail if detail else ''}{' (' + figs + ')' if figs else ''}")
        return rec

    @contextmanager
    def check(self, phase: str, name: str) -> Iterator[Record]:
        """Run a check; its :class:`Record` is written when the block ends, ``error`` if it raised."""
        rec = Record(phase, name)
        self.log(f"{phase}/{name} ...")
        try:
            yield rec
        except Exception as exc:  # noqa: BLE001 - a failed check is a result, the run goes on
            tail = "".join(traceback.format_exception(exc)[-4:])
            self.log_block(f"traceback of {phase}/{name}", traceback.format_exc())
            rec.status, rec.detail = ERROR, f"{type(exc).__name__}: {exc}"[:500]
            rec.figures.setdefault("traceback_tail", tail[-800:])
        self.write(phase, name, rec.status, rec.detail, rec.figures)

    def close(self) -> None:
        """Close both files (flushed already)."""
        for fh in (self._results, self._log):
            try:
                fh.close()
            except OSError:  # pragma: no cover
                pass


def read_records(out: Path) -> list[dict[str, Any]]:
    """The records of ``out/results.jsonl`` (a torn last line, from a killed run, is ignored)."""
    path = out / RESULTS_NAME
    records = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"ignoring a torn line of {path}", file=sys.stderr)
    return records
