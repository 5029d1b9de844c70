"""Phase d: the one-screen summary, printed last (the device tool returns the end of the output) and
written to ``summary.txt``.

One block per phase (a: correctness, b: measurements, c: training, d: the returned files), each
check on one line with its status and its key figures, then the files that came back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpu import report as R

SUMMARY_NAME = "summary.txt"
TITLES = {"a": "a. correctness", "b": "b. benchmarks", "c": "c. training", "d": "d. summary"}
# The figures worth a place on the screen, per check name prefix (the rest is in results.jsonl).
KEYS = {
    "engine_": ("ran_as", "set5_psnr", "max_levels", "psnr_diff_db"),
    "fp16_overflow": ("before", "after"),
    "tiled_vs_whole": ("ran_as", "max_levels"),
    "oom_backoff": ("planned_tiles", "final_tile", "peak_reserved_mib", "cap_mib"),
    "amp_step": ("scalers_on", "g_total", "d_total"),
    "resume": ("max_rel_loss_diff", "bitwise_losses", "bitwise_weights", "cuda_rng_saved"),
    "roofline": ("conv_float16_tflops", "conv_bfloat16_tflops", "conv_float32_tflops", "matmul_bf16_tflops", "copy_tb_s"),
    "bench_inference": ("engine_over_naive", "engine_roofline_fraction", "max_levels_vs_naive", "precision"),
    "gpu_peak": ("peak_reserved_gb", "peak_allocated_gb", "tile", "seconds"),
    "bench_training": ("step_speedup", "loop_speedup", "trainer_data_share"),
    "srresnet": ("steps", "batch", "samples_per_s", "data_fraction", "set5_start", "set5_fp16"),
    "srgan": ("steps", "batch", "samples_per_s", "set5_start", "set5_fp16", "series_set5"),
    "photo": ("steps", "batch", "samples_per_s", "data_fraction", "set5_start", "set5_fp16"),
}


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        if "psnr" in value:
            return f"{value['psnr']:.3f}dB"
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def _figures(rec: dict[str, Any]) -> str:
    keys = next((v for k, v in KEYS.items() if rec["check"].startswith(k)), ())
    figs = rec.get("figures", {})
    return " ".join(f"{k}={_short(figs[k])}" for k in keys if k in figs and figs[k] is not None)


def _line(r: dict[str, Any]) -> str:
    """One check on one line: mark, name, key figures (and the reason of a failure or skip)."""
    mark = {R.PASS: "ok  ", R.FAIL: "FAIL", R.ERROR: "ERR ", R.INFO: "    "}.get(r["status"], "skip")
    text = _figures(r) if r["status"] in (R.PASS, R.FAIL, R.INFO) else r["status"]
    if r["status"] in (R.FAIL, R.ERROR) or (r["status"].startswith("skipped") and r.get("detail")):
        detail = " ".join((r.get("detail") or "").split())  # one line: tracebacks stay in the log
        text = (text + " | " if text and not text.startswith("skipped") else "") + detail
    return f"  {mark} {r['check']:<26s} {text}"[:160]


def render(records: list[dict[str, Any]], out: Path, env: dict[str, Any], phases: tuple[str, ...], elapsed: float) -> str:
    """The summary text (at most about one screen)."""
    where = env.get("gpu") or env.get("device")
    lines = [f"=== gpu_run summary: {where}, torch {env.get('torch')}, CUDA {env.get('cuda_build')}, "
             f"cuDNN {env.get('cudnn')}; {elapsed:.0f} s ==="]
    for phase in ("a", "b", "c"):
        recs = [r for r in records if r["phase"] == phase and r["check"] != "plan"]
        if phase not in phases:
            lines.append(f"{TITLES[phase]}: not run (--phases)")
            continue
        counts: dict[str, int] = {}
        for r in recs:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        lines.append(f"{TITLES[phase]}: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no results (cut off?)"))
        lines += [_line(r) for r in recs]
    files = sorted(p for p in out.iterdir() if p.is_file() and not p.name.endswith(".tmp"))
    lines.append(f"{TITLES['d']}: {len(files)} files in {out}")
    lines += [_line(r) for r in records if r["phase"] == "d"]
    for p in files:
        lines.append(f"  {p.name:<28s} {p.stat().st_size / 2**20:7.2f} MiB")
    return "\n".join(lines) + "\n"


def write(text: str, out: Path) -> Path:
    """``out/summary.txt``."""
    path = out / SUMMARY_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
