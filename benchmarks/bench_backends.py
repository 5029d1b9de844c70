"""CPU backend benchmark (run by hand, not in CI): the PyTorch engine vs the OpenVINO backend.

    .venv/bin/python benchmarks/bench_backends.py                 # shipped srgan_x4, 6 paired rounds
    .venv/bin/python benchmarks/bench_backends.py --json OUT.json --rounds 8
    .venv/bin/python benchmarks/bench_inference.py --backends ...  # the same, from the inference benchmark

Both backends run the same :class:`~trainer.inference.Upscaler` (tiler, alpha, events); only the
network's forward differs. Measured in one run, wall clock, default thread count:

* (a) end to end: a folder of mixed sizes (6 photo crops, 96-320 px) upscaled by a fresh process
  per backend, from building the engine (OpenVINO: export, compile, self-check) to the last
  image; the processes alternate (torch, openvino, torch, openvino, ...) and the ratio is taken
  per pair;
* (b) warm: one 256x256 image, both engines built in one process, ``--rounds`` interleaved rounds
  (the order alternates each round), ratio per round, median and range;
* (c) peak memory: the peak RSS of each end-to-end process (its own ``ru_maxrss``);
* equal output: max uint8 level difference between the backends on every image, and Set5 PSNR
  (the ``srgan-eval`` protocol, whole image) with each backend when the benchmark sets are present.

On a shared machine pause other heavy work first; pairing the rounds keeps slow phases of the
machine out of the ratios as far as possible.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# As in bench_inference.py: idle OpenMP threads sleep instead of spinning, so process CPU time counts
# work only (the "cpu" figures: the time with the cores to itself, on a machine shared with others).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trainer.atomic import atomic_write_text  # noqa: E402

SIZES = ((96, 128), (160, 120), (200, 200), (256, 192), (320, 240), (144, 320))  # (w, h), 96..320 px
BACKENDS = ("torch", "openvino")


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """A ``width`` x ``height`` crop of scikit-image's astronaut photo (512x512 RGB), seeded position."""
    from skimage import data

    img = data.astronaut()
    rng = np.random.default_rng(seed)
    y, x = rng.integers(0, 512 - height + 1), rng.integers(0, 512 - width + 1)
    return np.ascontiguousarray(img[y : y + height, x : x + width])


def folder_images() -> list[np.ndarray]:
    return [photo(w, h, i) for i, (w, h) in enumerate(SIZES)]


def child(backend: str, model: str, out: Path | None) -> None:
    """One end-to-end run in this (fresh) process: print seconds, peak RSS and the backend as JSON."""
    import resource

    import torch  # noqa: F401 - imported before the clock starts, as in any run of the app or CLI

    from trainer import zoo
    from trainer.inference import Upscaler

    loaded = zoo.load(model)
    images = folder_images()
    t0, c0 = time.perf_counter(), time.process_time()
    up = Upscaler(loaded, device="cpu", backend=backend)
    built = time.perf_counter() - t0
    outputs = [up.upscale_array(img) for img in images]
    seconds = time.perf_counter() - t0
    cpu = (time.process_time() - c0) / torch.get_num_threads()
    if out is not None:
        np.savez_compressed(out, *outputs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "build_seconds": built, "peak_rss": peak, "backend": up.backend_label,
                      "cached": up.openvino_cached}))


def run_child(backend: str, model: str, out: Path | None, cache: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", backend, "--model", model] + (["--out", str(out)] if out else [])
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SRGAN_CACHE_DIR": str(cache)})
    if res.returncode != 0:
        raise SystemExit(f"{backend} run failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def levels(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def end_to_end(model: str, pairs: int, tmp: Path, cache: str) -> dict:
    """``cache``: ``cold`` = every OpenVINO process starts with an empty model cache (a first launch:
    export, compile, self-check); ``warm`` = the cache holds the checked model (every later launch;
    filled by one untimed run first)."""
    runs: dict[str, list[dict]] = {b: [] for b in BACKENDS}
    warm_dir = tmp / "cache-warm"
    if cache == "warm":
        run_child("openvino", model, None, warm_dir)
    for i in range(pairs):
        order = BACKENDS if i % 2 == 0 else BACKENDS[::-1]
        for backend in order:
            folder = warm_dir if cache == "warm" else tmp / f"cache-cold-{backend}-{i}"
            runs[backend].append(run_child(backend, model, tmp / f"{backend}.npz" if i == 0 else None, folder))
    ratios = [t["seconds"] / o["seconds"] for t, o in zip(runs["torch"], runs["openvino"])]
    cpu_ratios = [t["cpu_seconds"] / o["cpu_seconds"] for t, o in zip(runs["torch"], runs["openvino"])]
    a, b = np.load(tmp / "torch.npz"), np.load(tmp / "openvino.npz")
    diff = max(levels(a[k], b[k]) for k in a.files)
    return {
        "torch_s": [r["seconds"] for r in runs["torch"]], "openvino_s": [r["seconds"] for r in runs["openvino"]],
        "openvino_build_s": [r["build_seconds"] for r in runs["openvino"]],
        "torch_build_s": [r["build_seconds"] for r in runs["torch"]],
        "ratio_median": statistics.median(ratios), "ratios": ratios,
        "torch_cpu_s": [r["cpu_seconds"] for r in runs["torch"]], "openvino_cpu_s": [r["cpu_seconds"] for r in runs["openvino"]],
        "cpu_ratio_median": statistics.median(cpu_ratios), "cpu_ratios": cpu_ratios,
        "torch_peak_rss_gb": max(r["peak_rss"] for r in runs["torch"]) / 2**30,
        "openvino_peak_rss_gb": max(r["peak_rss"] for r in runs["openvino"]) / 2**30,
        "max_levels": diff, "backend_ran": runs["openvino"][0]["backend"], "cache": cache,
        "openvino_from_cache": [r["cached"] for r in runs["openvino"]],
    }


def warm(model: str, rounds: int) -> dict:
    import torch

    from trainer import zoo
    from trainer.inference import Upscaler

    loaded = zoo.load(model)
    engines = {b: Upscaler(loaded, device="cpu", backend=b) for b in BACKENDS}
    img = photo(256, 256, 42)
    outs = {b: e.upscale_array(img) for b, e in engines.items()}  # warm-up (primitive creation)
    times: dict[str, list[float]] = {b: [] for b in BACKENDS}
    cpu: dict[str, list[float]] = {b: [] for b in BACKENDS}
    threads = torch.get_num_threads()
    for i in range(rounds):
        for backend in BACKENDS if i % 2 == 0 else BACKENDS[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            engines[backend].upscale_array(img)
            times[backend].append(time.perf_counter() - t0)
            cpu[backend].append((time.process_time() - c0) / threads)
    ratios = [t / o for t, o in zip(times["torch"], times["openvino"])]
    cpu_ratios = [t / o for t, o in zip(cpu["torch"], cpu["openvino"])]
    return {"torch_s": times["torch"], "openvino_s": times["openvino"], "ratios": ratios,
            "torch_cpu_s": cpu["torch"], "openvino_cpu_s": cpu["openvino"], "cpu_ratios": cpu_ratios,
            "cpu_ratio_median": statistics.median(cpu_ratios),
            "ratio_median": statistics.median(ratios), "torch_median_s": statistics.median(times["torch"]),
            "openvino_median_s": statistics.median(times["openvino"]), "max_levels": levels(outs["torch"], outs["openvino"]),
            "tile": engines["openvino"].tile_for(256, 256)}


def set5_psnr(model: str) -> dict | None:
    from trainer import zoo
    from trainer.evaluation import evaluate_set, resolve_dataset
    from trainer.inference.whole import whole_image_fn

    try:
        _, folder = resolve_dataset("Set5")
    except Exception:  # noqa: BLE001 - no benchmark data on this machine
        return None
    loaded = zoo.load(model)
    scale = loaded.scale or 4
    return {b: evaluate_set(folder, whole_image_fn(loaded, "cpu", b), scale).psnr for b in BACKENDS}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="srgan_x4", help="zoo name or model file (default srgan_x4)")
    p.add_argument("--rounds", type=int, default=6, help="warm rounds (default 6)")
    p.add_argument("--pairs", type=int, default=2, help="end-to-end process pairs (default 2)")
    p.add_argument("--cache", choices=("cold", "warm", "both"), default="both",
                   help="end to end with an empty OpenVINO model cache (a first launch), a filled one (later launches), or both (default)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures to PATH as JSON")
    p.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.model, args.out)
        return 0
    import tempfile

    import torch

    print(f"model {args.model}; CPU, {torch.get_num_threads()} threads; torch {torch.__version__}", flush=True)
    results = {}
    for cache in (("cold", "warm") if args.cache == "both" else (args.cache,)):
        with tempfile.TemporaryDirectory() as tmp:
            e2e = results[cache] = end_to_end(args.model, args.pairs, Path(tmp), cache)
        print(f"(a) folder of {len(SIZES)} images (96-320 px), fresh process each, incl. engine build, "
              f"{cache} OpenVINO model cache (from cache: {e2e['openvino_from_cache']}):")
        print(f"    torch    {', '.join(f'{s:.1f}' for s in e2e['torch_s'])} s (build {e2e['torch_build_s'][0]:.1f} s)")
        print(f"    openvino {', '.join(f'{s:.1f}' for s in e2e['openvino_s'])} s (build {e2e['openvino_build_s'][0]:.1f} s; "
              f"ran: {e2e['backend_ran']})")
        print(f"    openvino speed-up {e2e['ratio_median']:.2f}x (pairs: {', '.join(f'{r:.2f}' for r in e2e['ratios'])}); "
              f"max level difference {e2e['max_levels']}")
        print(f"    from CPU time / threads: torch {', '.join(f'{s:.1f}' for s in e2e['torch_cpu_s'])} s, openvino "
              f"{', '.join(f'{s:.1f}' for s in e2e['openvino_cpu_s'])} s: {e2e['cpu_ratio_median']:.2f}x")
        print(f"(c) peak RSS: torch {e2e['torch_peak_rss_gb']:.2f} GB, openvino {e2e['openvino_peak_rss_gb']:.2f} GB", flush=True)
    w = warm(args.model, args.rounds)
    print(f"(b) warm 256x256 (tile {w['tile']}, 0 = whole), {args.rounds} interleaved rounds: torch "
          f"{w['torch_median_s']:.2f} s, openvino {w['openvino_median_s']:.2f} s (medians); speed-up "
          f"{w['ratio_median']:.2f}x (range {min(w['ratios']):.2f}-{max(w['ratios']):.2f}); max level difference "
          f"{w['max_levels']}", flush=True)
    print(f"    from CPU time / threads: torch {statistics.median(w['torch_cpu_s']):.2f} s, openvino "
          f"{statistics.median(w['openvino_cpu_s']):.2f} s: {w['cpu_ratio_median']:.2f}x "
          f"(range {min(w['cpu_ratios']):.2f}-{max(w['cpu_ratios']):.2f})", flush=True)
    psnr = set5_psnr(args.model)
    if psnr:
        print(f"Set5 PSNR (srgan-eval protocol): torch {psnr['torch']:.4f} dB, openvino {psnr['openvino']:.4f} dB")
    figures = {"model": args.model, "threads": torch.get_num_threads(), "end_to_end": results, "warm": w, "set5_psnr": psnr}
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
