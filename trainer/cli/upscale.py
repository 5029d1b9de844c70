"""``srgan-upscale IN... -o OUT_DIR``: upscale files, folders and glob patterns with a model.

Argument parsing and progress display only: scanning, planning (output names, formats, the model
per file), upscaling and saving are :mod:`trainer.pipeline`, the same code the desktop app's queue
runs; its docstring has the rules (folder tree, names, formats, collisions, ``auto``). Progress
(file N of M, tiles of the current file, ETA) and one line per file (with the model used) go to
stderr; a summary ends the run on stdout. Exit status: 0 all good, 1 some file failed, 2 bad
arguments or unusable model.

Under ``torchrun`` the files are split across the processes, one device each
(:mod:`trainer.pipeline.shard`): every rank plans all output names (the same names as one process),
then does files ``RANK, RANK+WORLD_SIZE, ...``; rank 0 shows its progress and the one summary of
all ranks, and every rank exits with the worst status. The console script is not needed::

    torchrun --standalone --nproc_per_node=4 -m trainer.cli.upscale photos -r -o OUT
    # two machines (inputs and OUT on a shared file system, same paths), on each one:
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d --rdzv-endpoint=HOST:29400 --rdzv-id=job1
             -m trainer.cli.upscale photos -r -o OUT      (one command line)

(``python -m torch.distributed.run`` is ``torchrun``.) Without torchrun's environment it is a plain
single process.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trainer.naming import DEFAULT_TEMPLATE, FIELDS, TemplateError, validate_template
from trainer.pipeline import AUTO, EngineCache, EngineSettings, FileDone, FileProgress, FileStarted, OutputRules
from trainer.pipeline import pick_models, plan_files, run_plan, scan_inputs
from trainer.pipeline.outsize import OutputSize, OutputSizeError, parse_factor
from trainer.pipeline.shard import Shard, ShardResult, agree, gather, merge, run_shard, take
from trainer.zoo_info import DEFAULT_MODEL, PHOTO_MODEL, shipped_models_help


class UsageError(Exception):
    """Bad command-line values (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    from trainer.choices import BACKENDS
    from trainer.device import PRECISIONS
    from trainer.imageio import OUTPUT_FORMATS

    p = argparse.ArgumentParser(
        prog="srgan-upscale",
        description="Upscale images with an SRGAN-family model (4x for the shipped models).",
        epilog="Naming fields: " + ", ".join("{" + f + "}" for f in FIELDS) + ". Shipped models: "
        + shipped_models_help() + ". Exit status: 0 ok, 1 a file failed, 2 usage/model error.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files, folders or glob patterns ('**' for any depth)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", type=Path, help="output folder (created if missing)")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="descend into sub-folders; a folder input's name and tree are kept under OUT_DIR")
    p.add_argument("-m", "--model", default=AUTO,
                   help=f"'{AUTO}' (default: {PHOTO_MODEL} for JPEG, lossy WebP, HEIC and AVIF inputs and for images with JPEG "
                        f"traces, such as a PNG saved from a JPEG; {DEFAULT_MODEL} for the others), or a "
                        "shipped/user model name or model file used for every file")
    p.add_argument("--tile", type=int, default=None, metavar="N", help="tile size in input pixels; 0 = whole image (default: from free memory)")
    p.add_argument("--device", default=None, help="auto (default; SRGAN_DEVICE), cpu, cuda, cuda:N, mps")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="auto = fp32 on CPU, fp16 on GPU")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="what runs the network: auto (default: torch, or SRGAN_BACKEND), "
                        "torch, openvino (CPU, fp32)")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default=None,
                   help="output format (default: the input's decoded format when writable; HEIC/HEIF and AVIF photos: jpg; else png)")
    p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG/WebP quality 1-100 (default 95; WebP 100 = lossless)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--out-scale", default=None, metavar="F",
                      help="output size as a factor of the input, 1-8 (e.g. 2, 3 or 1.5; default: the model's scale): "
                           "the model runs at its own scale, then its output is resampled (Lanczos)")
    size.add_argument("--out-width", default=None, metavar="W",
                      help="output width in pixels, height by the aspect ratio (1x-8x of each input)")
    size.add_argument("--out-height", default=None, metavar="H",
                      help="output height in pixels, width by the aspect ratio (1x-8x of each input)")
    naming = p.add_mutually_exclusive_group()
    naming.add_argument("--name", default=None, metavar="TEMPLATE", help=f"output name template (default {DEFAULT_TEMPLATE!r})")
    naming.add_argument("--suffix", default=None, help="shortcut for --name '{stem}SUFFIX'")
    p.add_argument("--alpha", choices=("model", "bicubic"), default="model", help="how transparency is upscaled")
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--skip-existing", action="store_true",
                          help="leave a file alone when its output exists (default: write NAME-1, NAME-2...)")
    existing.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never overwritten)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output, only the summary")
    return p


def check_template(template: str) -> str:
    """Validate a naming template; raise :class:`UsageError` naming the problem."""
    try:
        return validate_template(template)
    except TemplateError as exc:
        raise UsageError(str(exc)) from None


@dataclass
class Summary:
    """What happened to each input (the ``FileDone`` events of the run)."""

    done: list[FileDone] = field(default_factory=list)
    interrupted: int | None = None  # files not processed after Ctrl+C

    def of(self, status: str) -> list[FileDone]:
        return [d for d in self.done if d.status == status]

    @property
    def failed(self) -> bool:
        return bool(self.of("failed")) or self.interrupted is not None

    def report(self) -> str:
        written, skipped, failed = self.of("written"), self.of("skipped"), self.of("failed")
        lines = [f"{len(written)} upscaled, {len(skipped)} skipped, {len(failed)} failed"]
        models = Counter(d.model for d in written)
        if models:
            lines[0] += "; models: " + ", ".join(f"{name} {count}" for name, count in sorted(models.items()))
        lines += [f"  skipped {d.source} ({d.model}): {d.reason}" for d in skipped]
        lines += [f"  failed {d.source} ({d.model}): {d.reason}" for d in failed]
        if self.interrupted is not None:
            lines.append(f"  stopped by the user; {self.interrupted} file(s) not processed")
        return "\n".join(lines)


def output_size(args: argparse.Namespace) -> OutputSize:
    """The :class:`OutputSize` of ``--out-scale``/``--out-width``/``--out-height`` (argparse keeps
    them exclusive); raises :class:`UsageError` naming the option and the value."""
    for option, value, key in (("--out-scale", args.out_scale, "factor"), ("--out-width", args.out_width, "width"),
                               ("--out-height", args.out_height, "height")):
        if value is None:
            continue
        try:
            if key == "factor":
                return OutputSize(factor=parse_factor(value))
            if not str(value).strip().isdigit() or int(value) < 1:
                raise OutputSizeError(f"must be a whole number of pixels >= 1, got {value!r}")
            return OutputSize(**{key: int(value)})
        except OutputSizeError as exc:
            raise UsageError(f"{option}: {exc}") from None
    return OutputSize()


def _options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> OutputRules:
    try:
        size = output_size(args)
        if args.name is not None:
            template = check_template(args.name)
        elif args.suffix is not None:
            template = check_template("{stem}" + args.suffix)
        else:
            template = DEFAULT_TEMPLATE
        if not 1 <= args.quality <= 100:
            raise UsageError(f"--quality must be between 1 and 100, got {args.quality}")
        if args.tile is not None and args.tile < 0:
            raise UsageError(f"--tile must be >= 0 (0 = whole image), got {args.tile}")
    except UsageError as exc:
        parser.error(str(exc))
    existing = "skip" if args.skip_existing else "overwrite" if args.overwrite else "rename"
    return OutputRules(args.output.expanduser(), template, args.format or "same", args.quality, existing, size)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (under torchrun: the worst over the ranks)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    rules = _options(parser, args)
    shard = Shard.from_env()  # a single process without torchrun's environment
    shard.join()
    try:
        return _upscale(args, rules, shard)
    except KeyboardInterrupt:  # Ctrl+C while scanning or loading models: nothing was written yet
        print("srgan-upscale: stopped by the user before any file was processed", file=sys.stderr)
        return 130
    finally:
        shard.leave()


def _upscale(args: argparse.Namespace, rules: OutputRules, shard: Shard) -> int:
    # Under torchrun every rank scans and plans every file, then takes its share (trainer.pipeline.shard);
    # each step below that may fail is agreed on by all ranks, so none is left waiting for the others.
    # The output folder is never scanned: inside an input folder it holds the last run's results.
    sources = scan_inputs(args.inputs, recursive=args.recursive, exclude=(rules.out_dir,))
    engines = EngineCache(keep=2)  # auto alternates two models: both stay loaded
    plan, status, error, notice = [], 0, "", ""
    if not sources:
        status, error = 1, "no image files found in the inputs"
    else:
        try:
            settings = EngineSettings(device=shard.device(args.device), precision=args.precision, tile=args.tile,
                                      alpha=args.alpha, backend=args.backend)
            models = pick_models(args.model)
            notice = models.notice
            # Planning loads each model it picks (for its scale), so an unusable model stops here.
            plan = plan_files(sources, rules, models, lambda m: engines.scale(m, settings))
        except Exception as exc:  # noqa: BLE001 - any model problem ends the run with its message
            status, error = 2, str(exc)
    status, error = agree(plan, status, error, shard)  # the barrier: nobody writes before all have planned
    if status:
        if shard.is_main:
            print(f"srgan-upscale: {error}", file=sys.stderr)
        return status
    if notice and shard.is_main:
        print(f"srgan-upscale: {notice}", file=sys.stderr)
    mine = ShardResult()
    try:
        rules.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        mine = ShardResult(status=2, error=f"cannot create output folder {rules.out_dir}: {exc.strerror or exc}")
    if not mine.status:
        indices = [index for index, _ in take(plan, shard)]  # this rank's files, one FileDone each in order
        quiet = args.quiet or not shard.is_main  # progress from rank 0 only
        cancel = threading.Event()
        if shard.enabled:
            events = run_shard(plan, engines, settings, shard, cancel)
        else:
            events = run_plan(plan, engines, settings, cancel)
        local = _show(events, len(indices), quiet, cancel)
        mine = ShardResult(tuple(zip(indices, local.done)), local.interrupted, 1 if local.failed else 0)
    done, interrupted, status, errors = merge(gather(mine, shard))
    if shard.is_main:  # one summary for the whole run
        for message in errors:
            print(f"srgan-upscale: {message}", file=sys.stderr)
        if done or not errors:
            print(Summary(done, interrupted).report())
            if any(d.status == "written" for d in done) and engines.backends():  # what ran (after any fallback)
                print("  ran with: " + "; ".join(engines.backends()))
    # Nobody exits before rank 0's summary is out. A failed run has no exit barrier in torchrun, and the
    # rendezvous store may live in another node's agent: when that node's rank exits first, its agent
    # leaves, this node's agent loses the store and kills rank 0 with the summary still in its buffer.
    sys.stdout.flush()
    sys.stderr.flush()
    shard.barrier()
    return status  # every rank: the worst over the ranks


def _show(events, total: int, quiet: bool, cancel: threading.Event) -> Summary:
    """Iterate the pipeline's events with two progress bars (files, tiles) and one line per file.

    ``total``: the files these events cover (this rank's share under torchrun); the lines number
    each file within the whole run.
    """
    from tqdm import tqdm

    summary = Summary()
    bar = tqdm(total=total, desc="files", unit="file", file=sys.stderr, disable=quiet or None, position=0)
    tiles = tqdm(total=0, desc="tiles", unit="tile", file=sys.stderr, disable=quiet or None, position=1, leave=False)
    log = (lambda msg: None) if quiet else (lambda msg: tqdm.write(msg, file=sys.stderr))
    n, of = 0, total
    try:
        for event in events:
            if isinstance(event, FileStarted):
                n, of = event.index, event.total
                bar.set_description(f"file {n}/{of} {event.source.name}"[:60])
            elif isinstance(event, FileProgress) and event.stage == "upscaling":
                if event.done == 0:
                    tiles.reset(total=event.total)
                tiles.update(event.done - tiles.n)
            elif isinstance(event, FileDone):
                summary.done.append(event)
                bar.update(1)
                if event.status == "written":
                    log(f"[{n}/{of}] {event.source} -> {event.output} ({event.model}, {event.seconds:.1f} s)")
                elif event.status == "skipped":
                    log(f"[{n}/{of}] {event.source}: skipped ({event.model}): {event.reason}")
                else:
                    log(f"[{n}/{of}] {event.source}: FAILED ({event.model}): {event.reason}")
    except KeyboardInterrupt:
        cancel.set()
        summary.interrupted = total - len(summary.done)
    finally:
        tiles.close()
        bar.close()
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
