"""Phase b: the benchmark scripts on the run's device, a measured roofline, the GPU memory of a big upscale.

* ``roofline``: what this device does at best for the work the models do, measured here: a 3x3
  64->64 convolution (channels-last, fp16 and bf16 on GPUs; fp32 on the CPU) over a few batch
  sizes, a large bf16 matrix product and a device-to-device copy. Timed with CUDA events after a
  warm-up, median of the repeats (METHOD.md);
* ``bench_inference`` / ``bench_training``: ``benchmarks/*.py`` as subprocesses with a time limit
  (a hang or crash costs that item, not the run), figures read from their ``--json`` output, their
  whole output kept in the log. ``bench_training`` reads its images from the bundle;
* ``gpu_peak_4000x3000``: the engine upscaling a 4000x3000 photo x4 on the GPU (automatic
  settings): peak allocated and reserved GPU memory and the time.

Targets (issue 15; on a GPU only, ratios from the same run): engine >= 3x the naive forward and
>= 50% of the conv roofline; training step >= 2.5x the naive step with data < 10% of the step;
4000x3000 x4 under 4 GB of GPU memory.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from gpu import report as R
from gpu.context import Context
from gpu.jobs import Job, child_env
from gpu.pack import Member
from gpu.toydata import photo


def run(ctx: Context) -> None:
    """All measurements of phase b, then their outputs packed into ``bench.zip``."""
    try:
        _measure(ctx)
    finally:  # what was measured goes back even when a later item broke
        files = sorted((ctx.work / "bench").glob("*"))
        if files:
            ctx.returns.pack("bench", [Member(f, f.name, 0) for f in files])


def _measure(ctx: Context) -> None:
    _roofline(ctx)
    if ctx.smoke:
        # Toy sizes, meaningless timings: both scripts at once (in smoke runs most of their time is
        # interpreters starting; on a GPU they run one after the other so neither disturbs the other).
        jobs = {name: _launch(ctx, name) for name in SCRIPTS}
        for name, job in jobs.items():
            _collect(ctx, name, job)
        _gpu_peak(ctx)
    else:
        _collect(ctx, "bench_inference", _launch(ctx, "bench_inference"))
        _gpu_peak(ctx)
        _collect(ctx, "bench_training", _launch(ctx, "bench_training"))
    _bench_training_compile(ctx)


# ------------------------------------------------------------------ roofline


def _time(ctx: Context, fn, reps: int) -> float:
    """Median seconds of ``fn`` over ``reps`` calls after a warm-up (CUDA events on GPUs)."""
    fn()
    times = []
    for _ in range(reps):
        if ctx.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def _roofline(ctx: Context) -> None:
    with ctx.reporter.check("b", "roofline") as rec:
        dev = ctx.device
        dtypes = (torch.float16, torch.bfloat16) if ctx.cuda else (torch.float32,)
        sizes = ((8, 256), (32, 128), (16, 256)) if ctx.cuda else ((1, 16),)
        best: dict[str, Any] = {}
        with torch.inference_mode():
            for dtype in dtypes:
                name = str(dtype).removeprefix("torch.")
                conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(dev, dtype, memory_format=torch.channels_last)
                for n, s in sizes:
                    # Random inputs, never zeros (METHOD.md: zeros can run faster than real data).
                    x = torch.randn(n, 64, s, s, device=dev, dtype=dtype).contiguous(memory_format=torch.channels_last)
                    sec = _time(ctx, lambda: conv(x), 20 if ctx.cuda else 2)
                    tflops = 2 * 9 * 64 * 64 * n * s * s / sec / 1e12
                    if tflops > best.get(f"conv_{name}_tflops", 0.0):
                        best[f"conv_{name}_tflops"] = tflops
                        best[f"conv_{name}_shape"] = f"{n}x64x{s}x{s}"
            if ctx.cuda:
                a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
                b = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
                best["matmul_bf16_tflops"] = 2 * 8192**3 / _time(ctx, lambda: a @ b, 10) / 1e12
                del a, b
                src = torch.empty(1 << 30, dtype=torch.uint8, device=dev).random_()
                dst = torch.empty_like(src)
                best["copy_tb_s"] = 2 * src.numel() / _time(ctx, lambda: dst.copy_(src), 10) / 1e12  # read + write
                del src, dst
                torch.cuda.empty_cache()
        ctx.notes["roofline"] = best
        rec.figures.update(best)
        rec.detail = "measured on this device" + ("" if ctx.cuda else " (CPU, toy size: not a measurement)")


# ------------------------------------------------------------------ the benchmark scripts


def _inference_argv(ctx: Context) -> list[str]:
    argv = ["benchmarks/bench_inference.py", "--device", str(ctx.device)]
    return argv + (["--size", "32", "--blocks", "1", "--repeats", "1", "--skip-large", "--quick"] if ctx.smoke else ["--repeats", "5"])


def _training_argv(ctx: Context) -> list[str]:
    argv = ["benchmarks/bench_training.py", "--device", str(ctx.device), "--data", str(train_folder(ctx.data))]
    small = ["--blocks", "1", "--crop", "16", "--batch", "2", "--steps", "1", "--warmup", "0", "--threads", "1"]
    return argv + (small if ctx.smoke else ["--steps", "10"])


def _inference_targets(figs: dict[str, Any]) -> dict[str, bool]:
    return {"engine >= 3x naive": figs.get("engine_over_naive", 0) >= 3,
            "engine >= 50% of conv roofline": figs.get("engine_roofline_fraction", 0) >= 0.5}


def _training_targets(figs: dict[str, Any]) -> dict[str, bool]:
    return {"step >= 2.5x naive": figs.get("step_speedup", 0) >= 2.5,
            "data < 10% of the step": figs.get("trainer_data_share", 1) < 0.1}


# name -> (argv, targets, seconds it needs at least, share of the phase's time left it may take)
SCRIPTS = {
    "bench_inference": (_inference_argv, _inference_targets, 45.0, 0.5),
    "bench_training": (_training_argv, _training_targets, 45.0, 1.0),
}


def _launch(ctx: Context, name: str, extra: tuple[str, ...] = ()) -> Job | None:
    """Start benchmark ``name`` (None when the phase has too little time left for it)."""
    argv, _, need, _ = SCRIPTS[name]
    if not ctx.enough(need):
        return None
    label = name + "".join(extra).replace("--", "_")
    out = ctx.work / "bench"
    return Job([*argv(ctx), *extra, "--json", str(out / f"{label}.json")], cwd=ctx.repo, log=out / f"{label}.txt",
               env=child_env(str(ctx.device), ctx.smoke))


def _collect(ctx: Context, name: str, job: Job | None, label: str = "") -> None:
    """Wait for a benchmark (its share of the time left), record its figures against the targets."""
    _, targets, _, share = SCRIPTS[name]
    label = label or name
    with ctx.reporter.check("b", label) as rec:
        if job is None:
            rec.skip(R.NO_BUDGET)
            return
        rc = job.wait(300 if ctx.smoke else max(30.0, min(240.0, (ctx.left() - 5) * share)))
        text = job.text()
        ctx.reporter.log_block(label, text)
        json_path = job.log.with_suffix(".json")
        figs = json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file() else {}
        rec.figures.update(figs)
        if rc is None:
            rec.verdict(False, "timed out (figures so far kept)")
        elif rc != 0:
            rec.status, rec.detail = R.ERROR, f"exit {rc}: {text.strip()[-300:]}"
        elif ctx.cuda:
            checks = targets(figs)
            rec.verdict(all(checks.values()), ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))
        else:
            rec.detail = "ran on the CPU (targets are for the GPU)"


def _gpu_peak(ctx: Context) -> None:
    with ctx.reporter.check("b", "gpu_peak_4000x3000") as rec:
        from trainer.imageio import ImageData
        from trainer.inference import Upscaler

        from gpu.check_engine import engine_model

        if not ctx.cuda:
            rec.skip(R.NO_CUDA, "GPU memory peak")
            return
        if not ctx.enough(20):
            rec.skip(R.NO_BUDGET)
            return
        img = ImageData(pixels=photo(3000, 4000, ctx.data))
        up = Upscaler(engine_model(ctx), device=ctx.device)
        torch.cuda.synchronize(ctx.device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(ctx.device)
        base = torch.cuda.memory_allocated(ctx.device)
        t = time.perf_counter()
        out = up.upscale(img)
        seconds = time.perf_counter() - t
        peak = torch.cuda.max_memory_allocated(ctx.device)
        reserved = torch.cuda.max_memory_reserved(ctx.device)
        rec.figures.update({"peak_allocated_gb": peak / 1e9, "peak_reserved_gb": reserved / 1e9, "weights_gb": base / 1e9,
                            "tile": up.tile_for(3000, 4000), "batch": up.max_batch, "precision": up.precision,
                            "seconds": seconds, "out_shape": list(out.pixels.shape)})
        rec.verdict(reserved < 4e9, f"peak reserved {reserved / 1e9:.2f} GB (allocated {peak / 1e9:.2f}) with automatic "
                                    f"settings, tile {up.tile_for(3000, 4000)}, {seconds:.1f} s")
        del out
        torch.cuda.empty_cache()


def train_folder(data: Path) -> Path:
    """The folder under ``data/train`` holding the most images directly (the naive loader of
    bench_training does not descend into sub-folders): ``sunhays80``, about 1024x768 photos, the
    folder the README's CPU figures used, rather than the 2048-pixel ``photos``."""
    folders = [data / "train", *sorted(p for p in (data / "train").rglob("*") if p.is_dir())]

    def count(folder: Path) -> int:
        return sum(1 for f in folder.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))

    return max(folders, key=count)


def _bench_training_compile(ctx: Context) -> None:
    """The trainer's step with ``torch.compile``, when phase b has the time (compiling takes a minute
    or more): tells a later, longer run whether compiling pays."""
    if ctx.smoke:
        ctx.reporter.write("b", "bench_training_compile", R.NO_BUDGET, "not in smoke runs (compiling alone takes longer)")
        return
    job = _launch(ctx, "bench_training", ("--compile",)) if ctx.enough(120) else None
    _collect(ctx, "bench_training", job, label="bench_training_compile")
