"""Inference benchmark (run by hand, not in CI): naive forward vs the Upscaler, against the roofline.

    .venv/bin/python benchmarks/bench_inference.py            # CPU or GPU, whichever `auto` picks
    .venv/bin/python benchmarks/bench_inference.py --skip-large --repeats 3
    python benchmarks/bench_inference.py --device cuda --json OUT.json   # figures also as JSON (gpu_run.py)
    .venv/bin/python benchmarks/bench_inference.py --backends [--json OUT.json]  # PyTorch vs OpenVINO on the CPU

Everything is measured in one run on the current machine. On a shared machine the share of the cores
this process gets changes from second to second, so besides wall-clock figures every CPU run is also
reported from process CPU time divided by the thread count ("*" columns: the throughput with the
cores to itself); the ratios are computed from those. Measured:

* naive baseline (the seed projects' way): ``model.eval(); with torch.no_grad(): model(x)`` on the
  whole 512x512 image, fp32, NCHW; uint8 in and out like the engine;
* the :class:`~trainer.inference.Upscaler` with its automatic settings, same image, same model;
  its output must equal the naive one within 1/255;
* the roofline: the best throughput of a 3x3 64->64 convolution (a few sizes, both memory layouts,
  the engine's precision), measured between the runs above; the engine's GFLOP/s (4.44 MFLOP per
  input pixel for SRResNet B=16 x4) as a fraction of it;
* peak resident memory of a 2000x2000 -> 8000x8000 upscale, in a child process (its own peak RSS).

The model is SRResNet B=16 x4 with random weights whose BatchNorm statistics are calibrated on
photo crops (realistic activations), or ``--model`` (a zoo name or model file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Before torch starts its OpenMP threads: waiting threads sleep instead of spinning, so process CPU
# time counts work only. On a shared machine a spinning thread burns CPU time whenever its partner
# thread is descheduled (measured: +25% CPU time per conv on this 2-core VM under load), which
# would make the CPU-time figures below depend on the load. `--spin` keeps OpenMP's default.
if "--spin" not in sys.argv:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trainer.atomic import atomic_write_text  # noqa: E402
from trainer.imageio import ImageData  # noqa: E402
from trainer.inference import Upscaler  # noqa: E402
from trainer.models import build  # noqa: E402
from trainer.tensor import to_numpy, to_tensor  # noqa: E402



def srresnet_flops_per_px(blocks: int, channels: int = 64) -> float:
    """Multiply-adds x 2 per input pixel of SRResNet x4 (head, blocks, body tail, 2 upsamplers, tail)."""
    c = channels
    lr = 81 * 3 * c + (2 * blocks + 1) * 9 * c * c + 9 * c * 4 * c
    return 2.0 * (lr + 4 * 9 * c * 4 * c + 16 * 81 * c * 3)


def make_model(args: argparse.Namespace) -> torch.nn.Module:
    if args.model:
        from trainer import zoo

        return zoo.load(args.model).module
    torch.manual_seed(0)
    model = build("srresnet", num_blocks=args.blocks)
    photo = test_image(256)
    model.train()
    with torch.no_grad():  # calibrate BatchNorm on photo crops so activations have realistic ranges
        for i in range(4):
            y, x = np.random.default_rng(i).integers(0, 256 - 48, 2)
            model(to_tensor(photo[y : y + 48, x : x + 48]))
    return model.eval()


def _zoo_blocks(model_arg: str) -> int:
    """``num_blocks`` recorded in a zoo model's header (16 when it does not say)."""
    from trainer import zoo

    return int(zoo.find_model(model_arg).metadata.get("hparams", {}).get("num_blocks", 16))


def test_image(size: int) -> np.ndarray:
    """A photo (scikit-image's astronaut, 512x512) resized to ``size`` x ``size`` RGB uint8."""
    from PIL import Image
    from skimage import data

    img = Image.fromarray(data.astronaut())
    return np.asarray(img if size == 512 else img.resize((size, size), Image.BICUBIC))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def naive_upscale(model: torch.nn.Module, img: np.ndarray, device: torch.device) -> np.ndarray:
    """The baseline: whole image, eager fp32 NCHW forward, no tiling."""
    with torch.no_grad():
        y = model(to_tensor(img).to(device))
    return to_numpy(y)


class Clock:
    """Wall time and, on the CPU, process CPU time turned into "seconds on an otherwise idle machine".

    On a shared machine the scheduler gives this process a varying share of the cores, so wall-clock
    ratios between runs measured minutes apart are noise. CPU time counts only the time our threads
    ran; divided by the thread count it is the wall time the run would take with the cores to itself
    (spin-waiting threads still count, so parallel inefficiency is not hidden).
    """

    def __init__(self, device: torch.device) -> None:
        self.device, self.threads = device, torch.get_num_threads()

    def __call__(self, fn):
        sync(self.device)
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        sync(self.device)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        return out, wall, (cpu / self.threads if self.device.type == "cpu" else wall)


def conv_roofline(clock: Clock, dtype: torch.dtype, quick: bool = False) -> tuple[float, float, str]:
    """Best (wall, cpu-time) GFLOP/s of a 3x3 64->64 conv over a few sizes and both layouts.

    Each size runs ~0.5 s per sample (best of 2 samples), so the roofline is not the luckiest of
    many millisecond-long samples while the engine is timed over tens of seconds.
    """
    device = clock.device
    best_w, best_c, where = 0.0, 0.0, ""
    configs = ((96, 1, 40), (128, 1, 24), (256, 1, 6)) if device.type == "cpu" else ((256, 8, 40), (512, 8, 10), (512, 1, 40))
    if quick:  # --quick: a smoke run of the script (scripts/gpu_run.py --smoke), not a measurement
        configs = ((16, 1, 2),)
    for layout in (torch.contiguous_format, torch.channels_last):
        conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(device, dtype, memory_format=layout).eval()
        for s, n, reps in configs:
            x = torch.rand(n, 64, s, s, device=device, dtype=dtype).contiguous(memory_format=layout)
            flops = 2 * 9 * 64 * 64 * n * s * s * reps
            with torch.inference_mode():
                conv(x)

                def run() -> None:
                    for _ in range(reps):
                        conv(x)

                for _ in range(2):
                    _, wall, cpu = clock(run)
                    best_w = max(best_w, flops / wall / 1e9)
                    if flops / cpu / 1e9 > best_c:
                        lay = "channels_last" if layout is torch.channels_last else "NCHW"
                        best_c, where = flops / cpu / 1e9, f"{n}x64x{s}x{s} {lay}"
    return best_w, best_c, where


def large_child(size: int, blocks: int, model_arg: str | None) -> None:
    """Child process: upscale a size x size photo and print time, tile and peak RSS as JSON."""
    import resource

    args = argparse.Namespace(model=model_arg, blocks=blocks)
    model = make_model(args)
    img = ImageData(pixels=test_image(size))
    up = Upscaler(model)
    out, wall, cpu = Clock(up.device)(lambda: up.upscale(img))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(json.dumps({"wall": wall, "cpu": cpu, "tile": up.tile_for(size, size), "shape": list(out.pixels.shape), "peak_rss": peak}))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--backends" in argv:  # PyTorch engine vs OpenVINO backend: its own script, same conventions
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_backends import main as backends_main

        return backends_main([a for a in argv if a != "--backends"])
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=512, help="input size for the throughput runs (default 512)")
    p.add_argument("--blocks", type=int, default=16)
    p.add_argument("--model", default=None, help="zoo name or model file instead of the random SRResNet")
    p.add_argument("--device", default=None)
    p.add_argument("--repeats", type=int, default=None, help="timed runs of each (default 1 on CPU, 5 on GPU)")
    p.add_argument("--large", type=int, default=2000, help="size of the peak-memory run (default 2000)")
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--spin", action="store_true", help="keep OpenMP's default spin-waiting (see the top of the file)")
    p.add_argument("--quick", action="store_true", help="one tiny roofline size: checks the script runs (numbers meaningless)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures to PATH as JSON")
    p.add_argument("--large-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.large_child:
        large_child(args.large, args.blocks, args.model)
        return 0

    model = make_model(args)
    up = Upscaler(model, device=args.device)
    device = up.device
    repeats = args.repeats or (1 if device.type == "cpu" else 5)
    img = test_image(args.size)
    flops_px = srresnet_flops_per_px(args.blocks) if not args.model else srresnet_flops_per_px(_zoo_blocks(args.model))
    print(f"device {device} ({torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}), torch {torch.__version__}")
    print(f"model srresnet B={args.blocks} x4, {flops_px / 1e6:.2f} MFLOP per LR pixel; input {args.size}x{args.size} RGB")
    print(f"engine: precision {up.precision}, channels_last {up.channels_last}, tile {up.tile_for(args.size, args.size)} "
          f"(0 = whole), context {up.context}, batch {up.max_batch}")

    naive_model = model.to(device).eval()
    small = test_image(64)
    naive_upscale(naive_model, small, device)  # warm-up (oneDNN/cuDNN primitive creation)
    up.upscale_array(small)
    clock = Clock(device)
    roof: list[tuple[float, float, str]] = []
    naive: list[tuple[float, float]] = []
    engine: list[tuple[float, float]] = []
    naive_out = engine_out = None
    for _ in range(repeats):
        roof.append(conv_roofline(clock, up.dtype, args.quick))
        if not args.skip_naive:
            naive_out, wall, cpu = clock(lambda: naive_upscale(naive_model, img, device))
            naive.append((wall, cpu))
        engine_out, wall, cpu = clock(lambda: up.upscale_array(img))
        engine.append((wall, cpu))
    roof.append(conv_roofline(clock, up.dtype, args.quick))
    mp = args.size * args.size / 1e6
    cpu_note = device.type == "cpu"
    print()
    head = f"{'':40s}{'LR MP/s':>9s}{'GFLOP/s':>9s}{'wall s':>9s}"
    print(head + (f"{'LR MP/s*':>10s}{'GFLOP/s*':>10s}{'cores':>7s}" if cpu_note else ""))

    def row(name: str, runs: list[tuple[float, float]]) -> tuple[float, float]:
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        line = f"{name:40s}{mp / wall:9.4f}{mp / wall * flops_px / 1e3:9.1f}{wall:9.1f}"
        if cpu_note:
            line += f"{mp / cpu:10.4f}{mp / cpu * flops_px / 1e3:10.1f}{cpu * clock.threads / wall:7.2f}"
        print(line)
        return mp / wall, mp / cpu

    if naive:
        nv_w, nv_c = row("naive (eager fp32 NCHW, whole image)", naive)
    en_w, en_c = row(f"Upscaler ({up.precision}, auto settings)", engine)
    # Measured before and after the runs: their mean (the spread is printed).
    roof_w = sum(r[0] for r in roof) / len(roof)
    roof_c = sum(r[1] for r in roof) / len(roof)
    where = max((r[1], r[2]) for r in roof)[1]
    line = f"{'conv 3x3 64->64 roofline (' + up.precision + ')':40s}{'':9s}{roof_w:9.1f}{'':9s}"
    print(line + (f"{'':10s}{roof_c:10.1f}" if cpu_note else "") + f"   best: {where}")
    spread = ", ".join(f"{r[1] if cpu_note else r[0]:.0f}" for r in roof)
    print(f"{'':40s}(roofline measured {len(roof)}x: {spread} GFLOP/s{'*' if cpu_note else ''})")
    if cpu_note:
        print("* = from process CPU time / threads: throughput with the cores to itself (this machine is shared;")
        print("    'cores' is how many of the threads' cores the run actually got).")
    print()
    if naive:
        diff = int(np.abs(naive_out.astype(int) - engine_out.astype(int)).max())
        speed = f"{en_c / nv_c:.2f}x (wall clock: {en_w / nv_w:.2f}x)" if cpu_note else f"{en_w / nv_w:.2f}x"
        print(f"engine / naive: {speed}; max abs diff of the uint8 outputs: {diff}")
    frac = f"{en_c * flops_px / 1e3 / roof_c:.0%} (wall clock: {en_w * flops_px / 1e3 / roof_w:.0%})" if cpu_note else f"{en_w * flops_px / 1e3 / roof_w:.0%}"
    print(f"engine GFLOP/s / conv roofline: {frac}")
    # The ratios use the CPU-time figures on the CPU (see Clock), wall clock on GPUs, as printed above.
    en, rf = (en_c, roof_c) if cpu_note else (en_w, roof_w)
    figures = {
        "device": str(device), "precision": up.precision, "size": args.size, "tile": up.tile_for(args.size, args.size),
        "engine_mp_s": en, "engine_gflop_s": en * flops_px / 1e3, "roofline_gflop_s": rf, "roofline_best": where,
        "engine_roofline_fraction": en * flops_px / 1e3 / rf,
    }
    if naive:
        nv = nv_c if cpu_note else nv_w
        figures.update({"naive_mp_s": nv, "engine_over_naive": en / nv, "max_levels_vs_naive": diff})
    _write_json(args.json, figures)

    if not args.skip_large:
        cmd = [sys.executable, __file__, "--large-child", "--large", str(args.large), "--blocks", str(args.blocks)]
        if args.model:
            cmd += ["--model", args.model]
        env = dict(os.environ, SRGAN_DEVICE=str(device))
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(f"large run failed:\n{res.stderr[-2000:]}")
            return 1
        info = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"{args.large}x{args.large} -> {info['shape'][1]}x{info['shape'][0]}: peak RSS {info['peak_rss'] / 2**30:.2f} GB "
              f"(tile {info['tile']}; {info['wall']:.0f} s wall, {info['cpu']:.0f} s with the cores to itself)")
        figures.update({"large": args.large, "large_peak_rss_gb": info["peak_rss"] / 2**30, "large_tile": info["tile"],
                        "large_wall_s": info["wall"]})
        _write_json(args.json, figures)
    return 0


def _write_json(path: Path | None, figures: dict) -> None:
    """Write ``figures`` to ``path`` (when given) as JSON, replacing the file atomically."""
    if path is None:
        return
    atomic_write_text(path, json.dumps(figures, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
