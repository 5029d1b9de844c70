"""Multi-process (DDP, gloo on the CPU) training: two ranks end with identical weights, resume works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from test_train_support import make_images

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs torch.distributed with gloo")

RANK_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    sys.path.insert(0, {tests!r})
    from test_train_support import gan_overrides, tiny_config
    import trainer.train.loop as loop
    from trainer.train import TrainingControl, train

    captured = {{}}

    class Capture(loop.GANStep):  # keeps a handle on the generator and EMA to compare the ranks
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            captured["g"], captured["ema"], captured["budget"] = self.generator, self.ema.module, self.budget

    loop.GANStep = Capture
    stop_at, resume, out = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
    cfg = tiny_config({train!r}, "srgan", **gan_overrides(), **{{"phases.*.iterations": 3,
                      "phases.gan.pixel.weight": 1e-3, "phases.gan.pixel.budget_db": 1e-4,
                      "phases.gan.pixel.budget_reference": {reference!r}}})
    control = TrainingControl()
    for ev in train(cfg, {run!r}, control=control, resume=resume):
        name = type(ev).__name__
        if name == "Error":
            print("ERROR", ev.message, ev.traceback, flush=True)
            sys.exit(1)
        if name == "TrainStep" and ev.step == stop_at:
            control.stop()
        if name == "RunStarted":
            print("STARTED", ev.start_step, ev.world_size, flush=True)
        if name == "Finished":
            print("FINISHED", ev.step, ev.stopped, flush=True)
    torch.save({{"g": captured["g"].state_dict(), "ema": captured["ema"].state_dict(),
                "budget": captured["budget"].state_dict()}}, out)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(script: Path, tmp: Path, stop_at: int, resume: bool, tag: str) -> list[str]:
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank),
                   LOCAL_RANK=str(rank), SRGAN_DEVICE="cpu", PYTHONPATH=str(Path(__file__).parents[2]),
                   PYTHONFAULTHANDLER="1")  # a native abort prints the Python stack it came from
        out = tmp / f"{tag}_rank{rank}.pt"
        procs.append(subprocess.Popen([sys.executable, str(script), str(stop_at), "1" if resume else "0", str(out)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    outputs = []
    for p in procs:
        try:
            text, _ = p.communicate(timeout=240)
        finally:
            if p.poll() is None:
                p.kill()
        outputs.append(text)
        assert p.returncode == 0, text
    return outputs


def test_two_gloo_ranks_train_stop_resume_and_agree(tmp_path):
    train_dir = make_images(tmp_path / "train", n=6)
    run = tmp_path / "run"
    script = tmp_path / "rank.py"
    # The GAN phase has a PSNR budget: its averages and multiplier must agree too (means over the ranks).
    from test_train_support import gan_overrides, tiny_config

    from trainer.modelfile import save_model
    from trainer.train.setup import build_generator, describe_generator

    cfg = tiny_config(train_dir, "srgan", **gan_overrides())
    reference = save_model(describe_generator(cfg, build_generator(cfg)), tmp_path / "reference.safetensors")
    script.write_text(RANK_SCRIPT.format(tests=str(Path(__file__).parent), train=str(train_dir), run=str(run),
                                         reference=str(reference)))

    first = _launch(script, tmp_path, stop_at=4, resume=False, tag="first")
    assert all("STARTED 0 2" in o and "FINISHED 4 True" in o for o in first), first
    second = _launch(script, tmp_path, stop_at=-1, resume=True, tag="second")
    assert all("STARTED 4 2" in o and "FINISHED 6 False" in o for o in second), second

    r0, r1 = (torch.load(tmp_path / f"second_rank{r}.pt", weights_only=True) for r in range(2))
    for part in ("g", "ema"):
        for key, value in r0[part].items():
            assert torch.equal(value, r1[part][key]), f"{part}.{key} differs between ranks"
    assert r0["budget"]["mse"] is not None and r0["budget"] == r1["budget"]
    # Only rank 0 wrote files: one run folder with the checkpoints and both exported models.
    assert (run / "srgan_x4.safetensors").is_file() and (run / "srgan_x4_pretrain.safetensors").is_file()
    from trainer.modelfile import load_model

    exported = load_model(run / "srgan_x4.safetensors")
    for key, value in exported.module.state_dict().items():
        assert torch.equal(value, r0["ema"][key])
