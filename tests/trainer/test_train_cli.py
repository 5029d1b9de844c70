"""``srgan-train``: a tiny run through the command, overrides, usage errors, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_train_support import make_images

from trainer.cli.train import main

TINY = ["--set", "model.num_blocks=1", "--set", "model.channels=8", "--set", "data.crop=16", "--set", "data.batch_size=4",
        "--set", "data.val_dir=''", "--set", "runtime.threads=1", "--set", "phases.*.time_limit_s=0"]


def test_quick_recipe_run_writes_a_complete_run_folder(tmp_path, capsys):
    data = make_images(tmp_path / "train", n=4)
    run = tmp_path / "run"
    code = main(["--recipe", "quick", "--data", str(data), "--out", str(run), "--no-progress", "--summary-every", "2", "--set", "runtime.log_interval=1",
                 *TINY, "--set", "phases.0.iterations=4", "--set", "runtime.checkpoint_interval=2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "step 2/4" in out and "finished at step 4/4" in out and f"model: {run / 'quick_x4.safetensors'}" in out
    for name in ("config.toml", "metrics.jsonl", "quick_x4.safetensors", "quick_x4.md", "checkpoints/step_000000004.pt"):
        assert (run / name).is_file(), name
    from trainer.config import load

    saved = load(run / "config.toml")
    assert saved.data.train_dir == str(data) and saved.model.hparams["num_blocks"] == 1
    # Resuming a finished run has nothing left to do and says so.
    assert main(["--resume", str(run), "--no-progress"]) == 0
    assert "finished at step 4/4" in capsys.readouterr().out


def test_print_config_and_usage_errors(tmp_path, capsys):
    assert main(["--recipe", "srgan", "--data", "x", "--set", "phases.gan.optimizer.lr=3e-5", "--print-config"]) == 0
    assert "lr = 3e-05" in capsys.readouterr().out
    assert main(["--recipe", "quick", "--data", "x", "--set", "data.crop=50"]) == 2
    assert "data.crop" in capsys.readouterr().err
    assert main(["--recipe", "quick"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["--data", "x"]) == 2
    assert main(["--recipe", "nope", "--data", "x"]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path)]) == 2
    assert "config.toml" in capsys.readouterr().err
    assert main(["--list-recipes"]) == 0
    assert "srgan-mixed" in capsys.readouterr().out


def test_training_failures_exit_1_with_the_reason(tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--recipe", "quick", "--data", str(empty), "--out", str(tmp_path / "r1"), "--no-progress"]) == 1
    assert f"{empty}: no images found" in capsys.readouterr().err
    # VGG loss without the ImageNet weights: refuses to start, naming the file and where it goes.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("SRGAN_OFFLINE", "1")
    data = make_images(tmp_path / "train", n=2)
    code = main(["--recipe", "srgan-mixed", "--data", str(data), "--out", str(tmp_path / "r2"), "--no-progress", *TINY])
    err = capsys.readouterr().err
    assert code == 1 and "vgg19-dcbb9e9d.pth" in err and str(tmp_path / "torch") in err


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])  # Ctrl-C, and kill / a scheduler ending the job
def test_ctrl_c_or_sigterm_stops_cleanly_with_a_checkpoint(tmp_path, signum):
    data = make_images(tmp_path / "train", n=4)
    run = tmp_path / "run"
    env = dict(os.environ, SRGAN_DEVICE="cpu", PYTHONPATH=str(Path(__file__).parents[2]))
    cmd = [sys.executable, "-m", "trainer.cli.train", "--recipe", "quick", "--data", str(data), "--out", str(run),
           "--no-progress", "--summary-every", "1", "--set", "runtime.log_interval=1", *TINY, "--set", "phases.0.iterations=100000"]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    watchdog = threading.Timer(120, child.kill)  # a hung child must not hang the suite
    watchdog.start()
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.rstrip())
            if line.startswith("step "):
                child.send_signal(getattr(signal, signum))
                break
        rest, _ = child.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
    out = "\n".join(lines) + rest
    assert child.returncode == 0, out
    assert "stopped at step" in out and "checkpoint (stop)" in out
    assert list((run / "checkpoints").glob("step_*.pt")) and (run / "quick_x4.safetensors").is_file()
