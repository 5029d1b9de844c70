"""The ``realistic`` degradation's speed with ``data.realistic.threads`` (run by hand, not in CI).

    python benchmarks/bench_degrade.py                    # batch 16 of 96x96 crops, threads 1 vs all cores
    python benchmarks/bench_degrade.py --threads 1 2 8 --rounds 8 --json OUT.json

On a GPU the photo model's step waits for this CPU work (the first H200 run: 0.050 s of the
0.076 s step at batch 16: 10 steps/s, against 48 for the clean model at batch 64). The crops of a batch are
degraded by a thread pool (Pillow's JPEG codec and torch's convolutions release the GIL; the
random draws and the Python around them do not, so the gain is below the thread count), each
from its own random stream, so every setting gives the same batch (checked here on each round).
Rounds interleave the settings (the machine is shared and noisy); ratios are paired per round
against the first setting and the median is reported. torch uses one intra-op thread here, as
the pool's threads would otherwise compete with torch's own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 2])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import torch

    from trainer.config import RealisticConfig
    from trainer.train.realistic import degrade_batch

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(args.batch, 3, args.crop, args.crop, generator=gen)
    hr = torch.nn.functional.avg_pool2d(hr, 3, 1, 1)  # some spatial structure, not pure noise
    cfgs = {t: replace(RealisticConfig(), threads=t) for t in args.threads}
    degrade_batch(hr, 4, cfgs[args.threads[0]], (0, 0, 0))  # warm-up (imports, kernel caches)
    times: dict[int, list[float]] = {t: [] for t in args.threads}
    for r in range(args.rounds):
        ref = None
        for t in args.threads:
            start = time.perf_counter()
            out = degrade_batch(hr, 4, cfgs[t], (0, r, 0))
            times[t].append(time.perf_counter() - start)
            if ref is None:
                ref = out
            elif not torch.equal(ref, out):
                print(f"threads {t}: a different batch than threads {args.threads[0]}", file=sys.stderr)
                return 1
    base = args.threads[0]
    rows = []
    print(f"batch {args.batch} of {args.crop}x{args.crop}, {args.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"{'threads':>8} {'median s':>9} {'speed-up':>9} {'range':>13}")
    for t in args.threads:
        ratios = [b / x for b, x in zip(times[base], times[t])]
        row = {"threads": t, "median_s": statistics.median(times[t]), "speedup": statistics.median(ratios),
               "speedup_min": min(ratios), "speedup_max": max(ratios)}
        rows.append(row)
        print(f"{t:>8} {row['median_s']:>9.4f} {row['speedup']:>8.2f}x {row['speedup_min']:>6.2f}-{row['speedup_max']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "batch": args.batch, "crop": args.crop, "cpus": os.cpu_count()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
