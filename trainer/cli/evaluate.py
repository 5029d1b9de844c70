"""``srgan-eval``: PSNR/SSIM (PROTOCOL.md) of bicubic and of models on benchmark sets or folders.

Examples::

    srgan-eval                                  # bicubic on Set5, Set14, BSD68
    srgan-eval --model srgan_x4 --json out.json
    srgan-eval --model my.safetensors --datasets Set5 ~/photos/gt --no-bicubic

Prints one row per (method, set); per-image progress goes to stderr. Errors (missing or empty
folder, unknown or unreadable model) are one line on stderr and exit status 1 (2 for bad usage).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from trainer.evaluation import (
    EvaluationError,
    ImageEvaluated,
    SetEvaluated,
    SetStarted,
    iter_evaluate_set,
    list_benchmark_sets,
    model_upscale_fn,
    resolve_dataset,
)

PROG = "srgan-eval"
BICUBIC = "bicubic"


class CliError(Exception):
    """An error reported as one line on stderr."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog=PROG, description="Measure PSNR/SSIM (Y channel, shave = scale) of bicubic and models.")
    p.add_argument("--model", dest="models", action="extend", nargs="+", default=[], metavar="NAME_OR_PATH",
                   help="model name (see the model zoo) or model file; repeatable")
    p.add_argument("--datasets", action="extend", nargs="+", default=None, metavar="SET_OR_FOLDER",
                   help="Set5, Set14, BSD68 or folders of HR images (default: the benchmark sets present)")
    p.add_argument("--scale", type=int, default=4, help="upscaling factor (default 4)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures to this JSON file")
    p.add_argument("--no-bicubic", action="store_true", help="skip the bicubic baseline")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    return p


def _label(arg: str) -> str:
    """Short name of a model argument: a file's stem, a zoo name as given."""
    path = Path(arg)
    return path.stem if (path.suffix or os.sep in arg or "/" in arg) else arg


def _device(name: str):
    from trainer.device import resolve_device  # imports torch: only when a model is evaluated

    try:
        return resolve_device(name)
    except (ValueError, RuntimeError) as exc:
        raise CliError(str(exc)) from exc


def _load_models(args: list[str], device) -> list[tuple[str, object]]:
    if not args:
        return []
    try:  # lazy: bicubic-only evaluation must work without the model zoo
        from trainer import zoo
    except ImportError as exc:
        raise CliError(f"cannot load models: the model zoo is not available ({exc})") from exc
    labels = [_label(a) for a in args]
    models = []
    for arg, label in zip(args, labels):
        if labels.count(label) > 1:  # two files with the same stem: keep them apart
            label = arg
        try:
            model = zoo.load(arg, device=str(device))
        except Exception as exc:  # any load failure -> one line naming the model
            reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise CliError(f"cannot load model {arg}: {reason}") from exc
        models.append((label, model))
    return models


def _reporting(label: str, fn):
    """Wrap a model's upscale function so a failure inside it becomes a one-line error."""

    def upscale(lr):
        try:
            return fn(lr)
        except Exception as exc:  # e.g. out of memory, a model that rejects the input
            raise CliError(f"model {label} failed on a {lr.shape[1]}x{lr.shape[0]} image: {exc}") from exc

    return upscale


def _run_one(method: str, set_name: str, folder: Path, upscale_fn, scale: int):
    from tqdm import tqdm

    bar = None
    try:
        for event in iter_evaluate_set(folder, upscale_fn, scale, name=set_name):
            if isinstance(event, SetStarted):
                bar = tqdm(total=event.total, desc=f"{method} {set_name}", unit="img", file=sys.stderr, leave=False)
            elif isinstance(event, ImageEvaluated) and bar is not None:
                bar.update(1)
            elif isinstance(event, SetEvaluated):
                return event.result
    finally:
        if bar is not None:
            bar.close()
    raise CliError(f"{folder}: evaluation ended without a result")


def format_table(rows: list[tuple[str, str, float, float, float]]) -> str:
    """Aligned text table of ``(method, set, psnr, ssim, seconds_per_image)`` rows."""
    header = ("method", "set", "PSNR (dB)", "SSIM", "s/image")
    cells = [header] + [(m, s, f"{p:.2f}", f"{q:.4f}", f"{t:.3f}") for m, s, p, q, t in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for r in cells:
        left = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        right = [r[i].rjust(widths[i]) for i in range(2, len(header))]
        lines.append("  ".join(left + right).rstrip())
    return "\n".join(lines)


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as JSON via a temp file in the same folder and ``os.replace``."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _finite(x: float) -> float | None:
    # A perfect reconstruction has PSNR inf, which strict JSON cannot hold: written as null.
    return x if math.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    """Evaluate and report; raises CliError/EvaluationError for user-facing failures."""
    if args.scale < 1:
        raise CliError(f"--scale must be a positive integer, got {args.scale}")
    names = args.datasets if args.datasets is not None else list_benchmark_sets()
    if not names:
        from trainer.paths import benchmarks_dir

        raise CliError(f"no benchmark sets found under {benchmarks_dir()}; give folders with --datasets")
    datasets = [resolve_dataset(n) for n in names]  # fail on a bad folder before any long work
    set_names = [n for n, _ in datasets]
    # Two folders with the same name would overwrite each other in the report: use their paths.
    datasets = [(str(f) if set_names.count(n) > 1 else n, f) for n, f in datasets]
    if args.no_bicubic and not args.models:
        raise CliError("nothing to evaluate: --no-bicubic without --model")

    methods: list[tuple[str, object]] = [] if args.no_bicubic else [(BICUBIC, None)]
    device = _device(args.device) if args.models else None
    for label, model in _load_models(args.models, device):
        model_scale = getattr(model, "scale", args.scale)
        if model_scale != args.scale:
            raise CliError(f"model {label} upscales x{model_scale}, but --scale is {args.scale}")
        methods.append((label, _reporting(label, model_upscale_fn(model, device))))

    rows, report = [], {}
    for method, fn in methods:
        for set_name, folder in datasets:
            res = _run_one(method, set_name, folder, fn, args.scale)
            rows.append((method, set_name, res.psnr, res.ssim, res.seconds_per_image))
            report.setdefault(method, {})[set_name] = {
                "psnr": _finite(res.psnr),
                "ssim": res.ssim,
                "images": res.images,
                "seconds_per_image": res.seconds_per_image,
            }
    print(format_table(rows))
    if args.json is not None:
        try:
            write_json_atomic(args.json, report)
        except OSError as exc:
            raise CliError(f"{args.json}: cannot write JSON ({exc.strerror or exc})") from exc
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``srgan-eval``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error (argparse already printed it)
        return int(exc.code or 0)
    try:
        return run(args)
    except (CliError, EvaluationError) as exc:
        message = " ".join(str(exc).split())  # one line, even if a lower layer's message had several
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
