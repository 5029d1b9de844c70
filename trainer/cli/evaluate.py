"""``srgan-eval``: PSNR/SSIM (PROTOCOL.md) of bicubic and of models on benchmark sets or folders.

Examples::

    srgan-eval                                  # bicubic on Set5, Set14, BSD68
    srgan-eval --model srgan_x4 --json out.json
    srgan-eval --model my.safetensors --datasets Set5 ~/photos/gt --no-bicubic
    srgan-eval --model srgan_x4 --degradation web:7   # seeded web-like LR (blur, noise, JPEG)
    srgan-eval --model srgan_x4 --niqe                # adds NIQE (no-reference, lower is better)
    srgan-eval --model srgan_x4 --backend torch       # PyTorch instead of OpenVINO on the CPU

Prints one row per (method, set); per-image progress goes to stderr. Each model is measured at its
own scale (LR by MATLAB bicubic at that scale, shave = scale) next to the bicubic baseline at the
same scale; a 1x (restoration) model is run on the HR image itself. When the scales are not all 4,
the method column says each row's scale (``bicubic x2``, ``my_model x2``, ``denoise x1 (HR as input)``). ``--degradation web[:SEED]``
(see :mod:`trainer.webdegrade`) evaluates on web-like degraded LR images instead of the clean
protocol: sets are then named ``"<set>@web:<SEED>"`` in the table and the JSON, and two columns
(fields) are added, the blockiness of the result and of the HR image (:mod:`trainer.blockiness`).
The JSON entry of a degraded set also has a ``per_image`` map: each image's PSNR, SSIM,
blockiness and the parameters drawn for it (``seed``, ``blur_sigma``, ``noise_sigma``,
``jpeg_quality``), for grouping results by degradation (``scripts/web_groups.py``).
The default ``bicubic`` is the clean protocol and prints exactly what it always did.
``--niqe`` adds the NIQE (:mod:`trainer.niqe`) of the results and of the HR images as two columns
and as ``niqe``/``hr_niqe`` fields, with a ``per_image`` map of both in the JSON (null: image under
two 96-pixel blocks a side).

Errors (missing or empty folder, unknown or unreadable model) are one line on stderr and exit
status 1 (2 for bad usage).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from trainer.evaluation import (
    EvaluationError,
    ImageEvaluated,
    ImageResult,
    SetEvaluated,
    SetStarted,
    iter_evaluate_set,
    list_benchmark_sets,
    resolve_dataset,
)
from trainer.webdegrade import parse_degradation
from trainer.zoo_info import shipped_models_help  # stdlib only: no torch for --help

PROG = "srgan-eval"
BICUBIC = "bicubic"
DEFAULT_SCALE = 4  # the protocol's scale, used when no model says otherwise


class CliError(Exception):
    """An error reported as one line on stderr."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog=PROG, description="Measure PSNR/SSIM (Y channel, shave = scale) of bicubic and models.")
    p.add_argument("--model", dest="models", action="extend", nargs="+", default=[], metavar="NAME_OR_PATH",
                   help="model name (shipped: " + shipped_models_help() + "; or your own) or model file; repeatable")
    p.add_argument("--datasets", action="extend", nargs="+", default=None, metavar="SET_OR_FOLDER",
                   help="Set5, Set14, BSD68 or folders of HR images (default: the benchmark sets present)")
    p.add_argument("--scale", type=int, default=None,
                   help="upscaling factor; default: each model's own scale (4 for bicubic alone); when given, "
                        "every model must have it")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures to this JSON file")
    p.add_argument("--no-bicubic", action="store_true", help="skip the bicubic baseline")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    p.add_argument("--degradation", type=_degradation_arg, default=None, metavar="bicubic|web[:SEED]",
                   help="LR images: bicubic (the clean protocol, default) or web (blur, noise, JPEG; "
                        "image i uses seed SEED + i, SEED default 0)")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "openvino"),
                   help="what runs the models: auto (default: torch, or SRGAN_BACKEND), "
                        "torch, openvino (CPU, fp32)")
    p.add_argument("--niqe", action="store_true",
                   help="also measure NIQE (no-reference, lower is better) of the results and of the HR images")
    return p


def _degradation_arg(text: str):
    """argparse type of --degradation: None (bicubic) or a WebDegradation."""
    try:
        return parse_degradation(text)
    except ValueError as exc:  # argparse prints it as one "error:" line naming the accepted forms
        raise argparse.ArgumentTypeError(str(exc)) from exc


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
            from trainer.modelfile import require_generator

            model = require_generator(zoo.load(arg, device=str(device)))
        except Exception as exc:  # any load failure -> one line naming the model
            reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise CliError(f"cannot load model {arg}: {reason}") from exc
        models.append((label, model))
    return models


def _upscale_fn(label: str, model, device, backend: str):
    """The model's whole-image function on ``backend``; says on stderr what runs it."""
    from trainer.inference.whole import whole_image_fn

    try:
        fn = whole_image_fn(model, device, backend)
    except ValueError as exc:  # e.g. --backend openvino with --device cuda
        raise CliError(str(exc)) from exc
    print(f"{PROG}: {label} runs with {fn.backend_label} (fp32, {device})", file=sys.stderr)
    return fn


def _reporting(label: str, fn):
    """Wrap a model's upscale function so a failure inside it becomes a one-line error."""

    def upscale(lr):
        try:
            return fn(lr)
        except Exception as exc:  # e.g. out of memory, a model that rejects the input
            raise CliError(f"model {label} failed on a {lr.shape[1]}x{lr.shape[0]} image: {exc}") from exc

    return upscale


def _run_one(method: str, set_name: str, folder: Path, upscale_fn, scale: int, degradation=None, niqe=False):
    from tqdm import tqdm

    bar = None
    try:
        events = iter_evaluate_set(folder, upscale_fn, scale, name=set_name, degradation=degradation, niqe=niqe)
        for event in events:
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


def format_table(rows: list[tuple], extra: tuple[str, ...] = ()) -> str:
    """Aligned text table of ``(method, set, psnr, ssim, seconds_per_image, *extra_values)`` rows.

    ``extra`` names the trailing columns (e.g. the blockiness of degraded evaluations); their
    values are printed with three decimals, ``-`` for None.
    """
    header = ("method", "set", "PSNR (dB)", "SSIM", "s/image") + tuple(extra)
    cells = [header] + [
        (m, s, f"{p:.2f}", f"{q:.4f}", f"{t:.3f}") + tuple("-" if v is None else f"{v:.3f}" for v in more)
        for m, s, p, q, t, *more in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for r in cells:
        left = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        right = [r[i].rjust(widths[i]) for i in range(2, len(header))]
        lines.append("  ".join(left + right).rstrip())
    return "\n".join(lines)


def _image_entry(r: ImageResult, degraded: bool, niqe: bool) -> dict:
    """The JSON ``per_image`` record of one image: with a degradation, its figures and the parameters
    drawn for it (so results can be grouped by JPEG quality or noise: ``scripts/web_groups.py``);
    with ``--niqe``, its NIQE and the HR's."""
    entry: dict = {}
    if degraded:
        entry.update(psnr=_finite(r.psnr), ssim=r.ssim, blockiness=_finite_or_none(r.blockiness))
        if r.params is not None:
            entry.update(seed=r.params.seed, blur_sigma=r.params.blur_sigma, noise_sigma=r.params.noise_sigma,
                         jpeg_quality=r.params.jpeg_quality)
    if niqe:
        entry.update(niqe=r.niqe, hr_niqe=r.hr_niqe)
    return entry


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as JSON, atomically (:mod:`trainer.atomic`)."""
    from trainer.atomic import atomic_write_text

    atomic_write_text(path.expanduser(), json.dumps(data, indent=2, allow_nan=False) + "\n")


def check_json_path(path: Path) -> None:
    """Raise :class:`CliError` when the JSON report could not be written there (checked before any
    long work): the path is a folder, or a file stands where a folder above it should be."""
    path = path.expanduser()
    if path.is_dir():
        raise CliError(f"{path}: cannot write JSON: is a folder")
    for parent in path.parents:
        try:
            if parent.exists() or parent.is_symlink():
                if not parent.is_dir():
                    raise CliError(f"{path}: cannot write JSON: {parent} is a file, not a folder")
                return
        except OSError as exc:
            raise CliError(f"{path}: cannot write JSON ({exc.strerror or exc})") from None


def _finite(x: float) -> float | None:
    # A perfect reconstruction has PSNR inf, which strict JSON cannot hold: written as null.
    return x if math.isfinite(x) else None


def _finite_or_none(x: float | None) -> float | None:
    # Blockiness is None without a block grid inside the images, inf for perfectly flat blocks.
    return None if x is None else _finite(x)


def _methods(models: list[tuple[str, int, object]], scale: int | None, *, bicubic: bool) -> list[tuple[str, int, object]]:
    """``(label, scale, upscale_fn)`` rows to evaluate: the bicubic baseline at every scale the
    models have (``scale``, else 4, without models) and each model at its own scale.

    With one scale of 4 the labels are the plain names (the table the protocol always printed);
    otherwise each label says its scale. A 1x model is measured on the HR image itself (it is its
    own LR, the protocol with scale 1) and is labelled so; bicubic has no 1x row (it would be the
    identity)."""
    scales = sorted({s for _, s, _ in models}) or [scale or DEFAULT_SCALE]
    plain = scales == [DEFAULT_SCALE]

    def name(label: str, s: int) -> str:
        if s == 1:
            return f"{label} x1 (HR as input)"
        return label if plain else f"{label} x{s}"

    rows = [(name(BICUBIC, s), s, None) for s in scales if bicubic and s > 1]
    return rows + [(name(label, s), s, fn) for label, s, fn in models]


def run(args: argparse.Namespace) -> int:
    """Evaluate and report; raises CliError/EvaluationError for user-facing failures."""
    if args.scale is not None and args.scale < 1:
        raise CliError(f"--scale must be a positive integer, got {args.scale}")
    names = args.datasets if args.datasets is not None else list_benchmark_sets()
    if not names:
        from trainer.paths import benchmarks_dir

        raise CliError(f"no benchmark sets found under {benchmarks_dir()}; give folders with --datasets")
    if args.json is not None:
        check_json_path(args.json)
    datasets = [resolve_dataset(n) for n in names]  # fail on a bad folder before any long work
    set_names = [n for n, _ in datasets]
    # Two folders with the same name would overwrite each other in the report: use their paths.
    datasets = [(str(f) if set_names.count(n) > 1 else n, f) for n, f in datasets]
    if args.no_bicubic and not args.models:
        raise CliError("nothing to evaluate: --no-bicubic without --model")

    device = _device(args.device) if args.models else None
    models: list[tuple[str, int, object]] = []
    for label, model in _load_models(args.models, device):
        model_scale = model.scale if model.scale is not None else (args.scale or DEFAULT_SCALE)
        if args.scale is not None and model_scale != args.scale:
            raise CliError(f"model {label} upscales x{model_scale}, but --scale is {args.scale}")
        models.append((label, int(model_scale), _reporting(label, _upscale_fn(label, model, device, args.backend))))
    methods = _methods(models, args.scale, bicubic=not args.no_bicubic)

    plain = all(scale == DEFAULT_SCALE for _, scale, _ in methods)
    degradation = args.degradation
    rows, report = [], {}
    for method, scale, fn in methods:
        for set_name, folder in datasets:
            res = _run_one(method, set_name, folder, fn, scale, degradation, args.niqe)
            key = set_name if degradation is None else f"{set_name}@{degradation.key}"
            row = (method, key, res.psnr, res.ssim, res.seconds_per_image)
            entry = {
                "psnr": _finite(res.psnr),
                "ssim": res.ssim,
                "images": res.images,
                "seconds_per_image": res.seconds_per_image,
            }
            if not plain:  # the protocol's x4 entries stay exactly as they always were
                entry["scale"] = scale
            if degradation is not None:  # clean rows and entries stay exactly as they always were
                row += (res.blockiness, res.hr_blockiness)
                entry.update(
                    blockiness=_finite_or_none(res.blockiness),
                    hr_blockiness=_finite_or_none(res.hr_blockiness),
                    degradation=degradation.key,
                )
            if args.niqe:
                row += (res.niqe, res.hr_niqe)
                entry.update(niqe=res.niqe, hr_niqe=res.hr_niqe)
            if degradation is not None or args.niqe:
                entry["per_image"] = {r.name: _image_entry(r, degradation is not None, args.niqe) for r in res.per_image}
            rows.append(row)
            report.setdefault(method, {})[key] = entry
    extra = () if degradation is None else ("blockiness", "HR blockiness")
    print(format_table(rows, extra + (("NIQE", "HR NIQE") if args.niqe else ())))
    if args.json is not None:
        try:
            write_json_atomic(args.json, report)
        except OSError as exc:
            check_json_path(args.json)  # the clearer reason when the path itself is the problem
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
