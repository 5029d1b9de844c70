"""One prepared GPU run (issue 15): check every CUDA path, measure it, train the shipped models at full speed.

Phases, each with its share of ``--minutes`` and its results written as it goes (so a run cut off
by the device tool's limit still returns what it did):

a. correctness: engine fp32/fp16/bf16 on Set5, fp16 overflow fallback, tiled vs whole, the
   out-of-memory back-off under a GPU memory cap, a GAN step under AMP (both GradScalers), save and
   resume of a training checkpoint, the sharded upscale under torchrun (when the tree has it);
b. benchmarks: ``benchmarks/bench_inference.py`` and ``bench_training.py`` on the device, a
   measured roofline, the GPU memory peak of a 4000x3000 x4 upscale;
c. training: the resize-conv ``srresnet_rc_x4`` from the shipped ``srresnet_x4``, then the ``srgan_x4``
   GAN recipe on it and its per-crop lattice fine-tune (``gpu/plan.py``), exported as fp16 model
   files with their Set5 figures plus what continuing on the CPU needs;
d. a one-screen summary, printed last.

What comes back (``--out``, the device tool's ``$OUT``): ``gpu_run.log``, ``results.jsonl``,
``summary.txt`` and a few zips, at most 8 files of at most 16 MiB each (``scripts/gpu/pack.py``).

Preparation, on this machine (the data does not travel otherwise: ``../shared`` stays behind)::

    scripts/gpu_bundle.sh            # -> .gpu_bundle/ (ignored by git; training images + Set5, sized to fit)

The device command (``run`` tool of this workplace), as given in the README's "GPU run" section::

    command:   PYTHONUNBUFFERED=1 python3 scripts/gpu_run.py --out $OUT --minutes 7
    carry:     [".gpu_bundle"]
    timeout_s: 600

``--phases c,d`` reruns only the training (and the summary); ``--smoke`` runs every phase on the CPU
at toy sizes in seconds (``tests/trainer/test_gpu_run_script.py``). The project is not installed
there: this script puts the repository root on ``sys.path`` and imports nothing outside the
dependencies the device machine has (torch, torchvision, numpy, pillow, scikit-image, safetensors).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before torch loads: cuBLAS reads this once, and the resume check's deterministic mode needs it
# (a fixed workspace per stream; costs nothing measurable at these sizes).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
os.environ.setdefault("SRGAN_OFFLINE", "1")  # never try to download VGG weights: there is no network

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

PHASES = ("a", "b", "c", "d")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="results folder (the device tool's $OUT)")
    p.add_argument("--minutes", type=float, default=7.0, help="budget of the whole run (default 7: one rerun still fits 15 min)")
    p.add_argument("--phases", default="a,b,c,d", help="subset to run, e.g. c,d (default a,b,c,d)")
    p.add_argument("--smoke", action="store_true", help="every phase on the CPU at toy sizes (seconds)")
    p.add_argument("--data", type=Path, default=None, help="data folder (default .gpu_bundle; toy data with --smoke)")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary folder)")
    p.add_argument("--device", default=None, help="default: cuda when present (cpu with --smoke)")
    p.add_argument("--plan", type=Path, default=None, help="phase c's plan as JSON (see scripts/gpu/plan.py)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="RUN:KEY=VALUE", help="override one run's config")
    p.add_argument("--compile", choices=("auto", "on", "off"), default="auto", help="torch.compile in phase c (auto: long runs only)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    phases = tuple(p for p in PHASES if p in args.phases.replace(" ", "").split(","))
    if not phases:
        print(f"gpu_run: --phases {args.phases!r} names none of {','.join(PHASES)}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.minutes * 60
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu_run_"))
    work.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data is None:
        if args.smoke:
            from gpu.toydata import make_toy_data

            data = make_toy_data(work / "toy_data", val_size=(160, 160))
        else:
            data = REPO / ".gpu_bundle"
    if not (data / "benchmarks" / "Set5").is_dir() or not (data / "train").is_dir():
        print(f"gpu_run: {data} lacks train/ or benchmarks/Set5: run scripts/gpu_bundle.sh first", file=sys.stderr)
        return 2
    os.environ["SRGAN_SHARED_DATA"] = str(data)  # validation and evaluation read this Set5, never ../shared
    pylib = data / "pylib"  # pure-Python dependencies the device machine lacks (scripts/gpu/bundle.py)
    if pylib.is_dir():
        sys.path.append(str(pylib))  # appended: an installed copy wins
        # The torchrun check's child processes import the core too.
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(pylib)]))

    import torch

    from gpu import env as envmod
    from gpu.context import Context
    from gpu.pack import Returns
    from gpu.report import Reporter
    from trainer.device import resolve_device

    if args.smoke:
        torch.set_num_threads(1)  # toy sizes: threads cost more than they give (and the CPU is shared)
    device = resolve_device(args.device or ("cpu" if args.smoke else "auto"))
    if device.type == "cuda" and device.index is None:
        # Indexed: some torch.cuda calls (set_per_process_memory_fraction) refuse a bare "cuda".
        device = torch.device("cuda", torch.cuda.current_device())
    reporter = Reporter(args.out)
    ctx = Context(out=args.out, work=work, data=data, repo=REPO, device=device, smoke=args.smoke, reporter=reporter,
                  returns=Returns(args.out), deadline=deadline, phases=phases,
                  options={"plan": args.plan, "sets": args.sets, "compile": args.compile})
    info = envmod.describe(device, REPO, data)
    reporter.write("env", "environment", "info", f"{info.get('gpu', device)}; torch {info['torch']}, CUDA {info['cuda_build']}, "
                   f"cuDNN {info['cudnn']}", info)
    if not ctx.cuda and not args.smoke:
        reporter.log("no CUDA device: the CUDA checks are skipped and the figures are CPU figures")
    status = _phases(ctx, phases)
    # The GPU machine has no Qt, and the core's rule is Qt-free: prove nothing on these paths loaded it.
    qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "srgan_desktop"))
    reporter.write("d", "qt_free", "fail" if qt else "pass", ", ".join(qt[:5]) or "no Qt module was imported")
    from gpu import summary

    text = ""
    for _ in range(2):  # twice: the second listing includes summary.txt itself
        text = summary.render(reporter.records, args.out, info, phases, reporter.elapsed())
        summary.write(text, args.out)
    reporter.close()
    print(text, end="", flush=True)
    return status


def _phases(ctx, phases: tuple[str, ...]) -> int:
    """Run the chosen phases in order; a phase that raises is recorded and the next one runs."""
    import importlib
    import traceback

    modules = {"a": ("gpu.check_engine", "gpu.check_train"), "b": ("gpu.bench",), "c": ("gpu.training",)}
    status = 0
    for phase in phases:
        if phase == "d":
            continue
        budget = ctx.start_phase(phase)
        ctx.log(f"=== phase {phase}: {budget:.0f} s ===")
        for name in modules[phase]:
            try:
                importlib.import_module(name).run(ctx)
            except Exception as exc:  # noqa: BLE001 - the checks catch their own; this is a bug in a phase
                ctx.reporter.log_block(f"traceback of {name}", traceback.format_exc())
                ctx.reporter.write(phase, name.rsplit(".", 1)[1], "error", f"{type(exc).__name__}: {exc}"[:500])
                status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
