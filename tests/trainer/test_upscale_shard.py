"""``srgan-upscale`` under torchrun (gloo, CPU): files split across ranks, one summary, the same files.

Two launches run side by side to keep the wall time down: ``--standalone --nproc_per_node=2`` on a
clean folder (exit 0) and two ``--nnodes=2`` launches meeting through the c10d rendezvous on
localhost, with a bad file that only one rank gets (both exit 1: the worst over the ranks).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from PIL import Image

from trainer.cli.upscale import main
from trainer.pipeline.shard import Shard, ShardResult, agree, merge, take

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs torch.distributed with gloo")
REPO = Path(__file__).parents[2]
SUMMARY_GOOD = "5 upscaled, 0 skipped, 0 failed"
SUMMARY_BAD = "5 upscaled, 0 skipped, 1 failed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A tiny model, five small images in ``good/`` (two in ``good/sub``) and a corrupt ``extra/bad.png``."""
    from trainer import models
    from trainer.modelfile import save_model

    root = tmp_path_factory.mktemp("shard")
    torch.manual_seed(0)
    make = getattr(models, "build_model", models.build)
    model = save_model(make("srresnet", channels=4, num_blocks=1, scale=4, bicubic_skip=True), root / "tiny.safetensors")
    rng = np.random.default_rng(0)
    for i, name in enumerate(["a.png", "b.jpg", "e.png", "sub/c.png", "sub/d.webp"]):
        path = root / "good" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (10 + i, 14, 3), dtype=np.uint8)).save(path)
    (root / "extra").mkdir()
    (root / "extra" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    return root, model


def test_take_splits_every_file_once():
    plan = list(range(7))
    for world in (1, 2, 3, 4):
        parts = [take(plan, Shard(rank, world, rank, world)) for rank in range(world)]
        indices = sorted(i for part in parts for i, _ in part)
        assert indices == list(range(1, 8))  # 1-based, each once
        assert [p for i, p in parts[0]] == plan[::world]


def test_without_torchrun_nothing_changes():
    assert not Shard.from_env({}).enabled and not Shard.from_env({"WORLD_SIZE": "1", "RANK": "0"}).enabled
    shard = Shard.from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    assert (shard.rank, shard.world_size, shard.local_rank, shard.local_world_size, shard.is_main) == (3, 4, 1, 2, False)
    assert Shard().device("cpu") == "cpu" and Shard().device(None) is None  # a single process: as asked
    assert agree([], 2, "bad model", Shard()) == (2, "bad model")
    done, interrupted, status, errors = merge([ShardResult(((2, "b"), (1, "a")), None, 1)])  # type: ignore[arg-type]
    assert (done, interrupted, status, errors) == (["a", "b"], None, 1, [])


def test_every_rank_waits_for_the_summary_before_it_exits(job, tmp_path, monkeypatch, capsys):
    # A failed run has no exit barrier in torchrun: a rank that left early could take the rendezvous
    # store (and with it rank 0, mid-summary) down. The closing barrier comes after the summary.
    root, model = job
    seen = []
    monkeypatch.setattr(Shard, "barrier", lambda self: seen.append(capsys.readouterr().out))
    assert main([str(root / "good"), str(root / "extra" / "bad.png"), "-r", "-o", str(tmp_path), "-m", str(model), "-q"]) == 1
    assert len(seen) == 1 and SUMMARY_BAD in seen[0], seen


def test_torchrun_two_processes_and_two_nodes_match_a_single_process(job, tmp_path):
    root, model = job
    good, bad = str(root / "good"), str(root / "extra" / "bad.png")
    single = tmp_path / "single"
    assert main([good, bad, "-r", "-o", str(single), "-m", str(model), "-q"]) == 1  # the bad file fails
    expected = _files(single)
    assert len(expected) == 5

    env = dict(os.environ, PYTHONPATH=str(REPO), SRGAN_DEVICE="cpu", OMP_NUM_THREADS="1")
    run = [sys.executable, "-m", "torch.distributed.run"]
    cli = ["-m", "trainer.cli.upscale", "-m", str(model)]
    port = _free_port()
    nodes = [*run, "--nnodes=2", "--nproc_per_node=1", "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}",
             "--rdzv-id=shard-test"]
    # Node 1 hosts the rendezvous store while node 0 (started first) holds rank 0: when node 1 is done
    # first its agent leaves with the store, the layout that once lost rank 0's summary.
    commands = {
        "procs": [*run, "--standalone", "--nproc_per_node=2", *cli, good, "-r", "-o", str(tmp_path / "procs")],
        **{f"node{n}": [*nodes, f"--rdzv-conf=is_host={n == 1}".lower(), *cli, good, bad, "-r", "-o", str(tmp_path / "nodes"), "-q"]
           for n in range(2)},
    }
    procs = {name: subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, cmd in commands.items()}
    results = {}
    for name, p in procs.items():
        try:
            out, err = p.communicate(timeout=180)
        finally:
            if p.poll() is None:
                p.kill()
        results[name] = (p.returncode, out, err)

    # Two processes on one machine: exit 0, one summary, the same files byte for byte as one process.
    rc, out, err = results["procs"]
    assert rc == 0, err
    assert out.count("upscaled,") == 1 and SUMMARY_GOOD in out, out
    assert _files(tmp_path / "procs") == expected
    # Progress from rank 0 only, which did files 1, 3 and 5 of the 5.
    assert all(f"[{i}/5]" in err for i in (1, 3, 5)) and not any(f"[{i}/5]" in err for i in (2, 4)), err

    # Two nodes: the bad file (file 6 of 6) went to one rank; both launches exit 1, one summary.
    outs = "".join(results[f"node{n}"][1] for n in range(2))
    for n in range(2):
        assert results[f"node{n}"][0] == 1, results[f"node{n}"][2]
    errs = "\n".join(results[f"node{n}"][2][-3000:] for n in range(2))
    assert outs.count("upscaled,") == 1 and SUMMARY_BAD in outs and "bad.png (tiny)" in outs, (outs, errs)
    assert _files(tmp_path / "nodes") == expected
