"""A run killed with SIGKILL while writing a checkpoint leaves the previous one usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_train_support import collect, make_images, of_type, tiny_config

from trainer.train import train
from trainer.train.checkpoint import list_checkpoints, load_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

CHILD = textwrap.dedent(
    """
    import builtins, sys
    sys.path.insert(0, {tests!r})
    from test_train_support import tiny_config
    import trainer.atomic as atomic
    from trainer.train import train

    real_open = builtins.open

    class HalfThenHang:
        # Writes half of the checkpoint, tells the parent, then waits to be killed.
        def __init__(self, fh):
            self.fh = fh
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.fh.close()
        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            print("WRITING", flush=True)
            sys.stdin.read()  # blocks until the parent kills us
        def flush(self):
            self.fh.flush()
        def fileno(self):
            return self.fh.fileno()

    def open_hook(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        return HalfThenHang(fh) if "step_000000004.pt" in str(path) and "w" in mode else fh

    atomic.open = open_hook  # the atomic-write module's own open(); everything else is the real code
    cfg = tiny_config({train!r}, **{{"phases.*.iterations": 6, "runtime.checkpoint_interval": 2}})
    for ev in train(cfg, {run!r}):
        print(type(ev).__name__, getattr(ev, "message", ""), flush=True)
    print("FINISHED-UNEXPECTEDLY", flush=True)
    """
)


def test_sigkill_during_checkpoint_write_keeps_the_previous_checkpoint(tmp_path):
    train_dir = make_images(tmp_path / "train", n=4)
    run = tmp_path / "run"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent), train=str(train_dir), run=str(run)))
    env = dict(os.environ, SRGAN_DEVICE="cpu", PYTHONPATH=str(Path(__file__).parents[2]))
    child = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if line.strip() == "WRITING":
                break
        assert lines and lines[-1] == "WRITING", "\n".join(lines)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stdin.close()

    folder = run / "checkpoints"
    partial = list(folder.glob(".step_000000004.pt.tmp-*"))
    assert len(partial) == 1 and 0 < partial[0].stat().st_size  # the kill hit mid-write
    assert [s for s, _ in list_checkpoints(run)] == [2]  # the half-written file has no real name
    previous = load_checkpoint(folder / "step_000000002.pt")
    assert previous["step"] == 2

    cfg = tiny_config(train_dir, **{"phases.*.iterations": 6, "runtime.checkpoint_interval": 2})
    events = collect(train(cfg, run, resume=True))
    assert of_type(events, "RunStarted")[0].start_step == 2
    assert events[-1].step == 6 and not events[-1].stopped
    assert [s for s, _ in list_checkpoints(run)] == [4, 6] and not list(folder.glob(".*tmp*"))
    # The killed run had logged steps 3 and 4 too; the resumed run redid them: each step once.
    from trainer.train.runlog import read_metrics

    logged = [r["step"] for r in read_metrics(run) if r["event"] == "TrainStep"]
    assert logged == [1, 2, 3, 4, 5, 6]
