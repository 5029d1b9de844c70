"""benchmarks/bench_training.py still runs against the trainer's API (a GPU session runs it blind).

Tiny sizes only: this checks that the script works and that its accounting is right, not speed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(scope="module")
def bench(load_file_module):
    return load_file_module("benchmarks/bench_training.py")


def test_count_gflop_counts_forward_and_backward_convolutions(bench):
    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    x = torch.rand(2, 4, 10, 10, requires_grad=True)
    forward = 2 * 3 * 3 * 4 * 8 * 10 * 10 * 2 / 1e9
    assert bench.count_gflop(lambda: conv(x)) == pytest.approx(forward)
    # backward: gradient of the input and of the weight, one forward's worth each
    assert bench.count_gflop(lambda: conv(x).sum().backward()) == pytest.approx(3 * forward)


def test_runs_end_to_end_and_the_trainer_does_less_work(bench, tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    assert bench.main(["--data", str(tmp_path), "--blocks", "1", "--crop", "32", "--batch", "2",
                       "--steps", "1", "--warmup", "0", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = dict(re.findall(r"^\| (naive step|trainer step) \| [\d.]+ \| [\d.]+ \| (\d+) \| \d+ \|$", out, re.M))
    assert set(rows) == {"naive step", "trainer step"}
    for name in ("naive loop", "trainer loop"):
        assert re.search(rf"^\| {name} \| [\d.]+ \| [\d.]+ \|", out, re.M)
    # The naive loop computes the discriminator's weight gradients in the generator step and runs
    # the discriminator on SR twice: strictly more arithmetic than the trainer's step.
    work = float(re.search(r"work ratio naive/trainer: ([\d.]+)x", out).group(1))
    assert work > 1.0
    assert int(rows["naive step"]) >= int(rows["trainer step"])
    assert float(re.search(r"step only: ([\d.]+)x", out).group(1)) > 0
    assert re.search(r"data time share: trainer [\d.]+% of the step", out)
