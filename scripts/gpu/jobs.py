"""Child processes of the run: started now, waited for later, killed with their children on timeout.

A benchmark or a torchrun launch runs in its own process (a crash or hang costs that item, not the
run) and its own process group (so a timeout also ends the children it started). Its output goes to
a file, kept for the log and the returned zips. Starting a job before waiting for it lets the run
do other work meanwhile: in smoke runs most of the wall time is interpreters starting.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class Job:
    """``python ARGV`` from ``cwd``, output into ``log``."""

    def __init__(self, argv: list[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as fh:
            self.proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None when it ran past ``timeout`` seconds (then it is killed)."""
        try:
            return self.proc.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - ended between the two calls
                pass
            self.proc.wait()
            return None

    def text(self) -> str:
        """Everything it printed."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""


def child_env(device: str, smoke: bool, **extra: str) -> dict[str, str]:
    """The environment for a child: unbuffered output, the run's device; one passive OpenMP thread
    in smoke runs (toy sizes on a shared CPU: spinning threads made them 4x slower)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", SRGAN_DEVICE=device, **extra)
    if smoke:
        env.update(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    return env
