"""How well ``trainer.jpegtrace`` tells JPEG-born pixels from clean ones, and what reading costs
(run by hand, not in CI).

    python benchmarks/bench_jpegtrace.py                 # the tables of trainer/jpegtrace.py's docstring
    python benchmarks/bench_jpegtrace.py --json OUT.json

Separation: the evidence of images that never were JPEG (MATLAB-bicubic LR of Set5, Set14, BSD68
and of the training photographs; that LR with noise sigma 4) against images that are decoded JPEGs
(the evaluation's web-degraded LR, the clean LR saved as JPEG quality 50 / 75 / 90 / 95 at 4:2:0, the
web LR shifted by 1-7 pixels as a crop or screenshot would). The threshold must sit between the
largest "never JPEG" figure and the smallest "JPEG" figure. HR images are listed for information:
BSD's originals are JPEGs.

Cost: ``file_jpeg_evidence`` (decode, crop the centre, 64 grid alignments of DCTs) against decoding
alone (Pillow ``load``), paired per file on the training photographs written as PNG, rounds interleaved;
reported as the median ratio and as milliseconds per megapixel. ``auto`` pays this once per
lossless file when it plans (naming a model with ``--model`` skips it).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _u8(a):
    import numpy as np

    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def separation() -> dict[str, list[float]]:
    """Evidence per group of images (see the module docstring)."""
    import numpy as np
    from PIL import Image

    from trainer.evaluation import image_files, read_rgb_u8
    from trainer.imresize import imresize
    from trainer.jpegtrace import jpeg_grid_evidence
    from trainer.paths import benchmarks_dir
    from trainer.webdegrade import crop_to_scale, web_degrade

    def jpeg(rgb, q):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=q, subsampling=2)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    groups: dict[str, list[float]] = {}

    def add(key, rgb):
        groups.setdefault(key, []).append(jpeg_grid_evidence(rgb))

    rng = np.random.default_rng(0)
    bench = [p for s in ("Set5", "Set14", "BSD68") for p in image_files(benchmarks_dir() / s)]
    for i, path in enumerate(bench):
        hr = crop_to_scale(read_rgb_u8(path), 4)
        lr = _u8(imresize(hr.astype(np.float64), 0.25))
        add("never JPEG: benchmark LR", lr)
        add("never JPEG: benchmark LR + noise 4", _u8(lr + rng.normal(0, 4, lr.shape)))
        web, _ = web_degrade(hr, 4, i)
        add("JPEG: web LR (quality 35-90)", web)
        oy, ox = rng.integers(1, 8, 2)
        add("JPEG: web LR shifted", web[oy:, ox:])
        for q in (50, 75, 90, 95):
            add(f"JPEG: benchmark LR at quality {q}", jpeg(lr, q))
        add("(info) benchmark HR", hr)
    train = benchmarks_dir().parent / "train"
    for path in sorted(p for p in train.rglob("*") if p.is_file()):
        hr = crop_to_scale(read_rgb_u8(path), 4)
        add("never JPEG: training LR", _u8(imresize(hr.astype(np.float64), 0.25)))
    return groups


def cost(rounds: int) -> dict[str, float]:
    """Median ratio (evidence / decode alone) and ms per megapixel of each, on PNGs of the training photos."""
    import numpy as np
    from PIL import Image

    from trainer import jpegtrace
    from trainer.evaluation import read_rgb_u8
    from trainer.paths import benchmarks_dir

    train = sorted((benchmarks_dir().parent / "train").rglob("*.jpg"))[:12]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, path in enumerate(train):
            out = Path(tmp) / f"{i}.png"
            Image.fromarray(read_rgb_u8(path)).save(out, compress_level=6)
            files.append(out)
        ratios, ms_decode, ms_evidence = [], [], []
        for _ in range(rounds):
            for f in files:
                t0 = time.perf_counter()
                with Image.open(f) as im:
                    im.load()
                    mp = im.width * im.height / 1e6
                t1 = time.perf_counter()
                jpegtrace._evidence_cached.cache_clear()
                jpegtrace.file_jpeg_evidence(f)
                t2 = time.perf_counter()
                ratios.append((t2 - t1) / (t1 - t0))
                ms_decode.append((t1 - t0) * 1e3 / mp)
                ms_evidence.append((t2 - t1) * 1e3 / mp)
    return {"files": len(files), "rounds": rounds, "median_ratio_evidence_over_decode": statistics.median(ratios),
            "decode_ms_per_mp": statistics.median(ms_decode), "evidence_ms_per_mp": statistics.median(ms_evidence)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    from trainer.jpegtrace import THRESHOLD

    groups = separation()
    print(f"evidence per group (threshold {THRESHOLD}):")
    for key, values in groups.items():
        print(f"  {key:40s} n={len(values):3d}  min {min(values):.3f}  median {statistics.median(values):.3f}  "
              f"max {max(values):.3f}")
    never = max(max(v) for k, v in groups.items() if k.startswith("never"))
    jpeg = min(min(v) for k, v in groups.items() if k.startswith("JPEG"))
    print(f"largest 'never JPEG' {never:.3f}, smallest 'JPEG' {jpeg:.3f}: "
          f"{'separated' if never < THRESHOLD < jpeg else 'NOT separated'} by {THRESHOLD}")
    timing = cost(args.rounds)
    print(f"reading cost on {platform.processor() or platform.machine()}: evidence {timing['evidence_ms_per_mp']:.0f} ms/MP, "
          f"decode alone {timing['decode_ms_per_mp']:.0f} ms/MP, ratio {timing['median_ratio_evidence_over_decode']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"groups": groups, "threshold": THRESHOLD, "cost": timing}, indent=1))
    return 0 if never < THRESHOLD < jpeg else 1


if __name__ == "__main__":
    raise SystemExit(main())
