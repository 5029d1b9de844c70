"""``srgan-upscale IN... -o OUT_DIR``: upscale files, folders and glob patterns with a model.

Each input is read, upscaled by :class:`trainer.inference.Upscaler` (whole or tiled, automatically)
and written to ``OUT_DIR`` (created if missing) under a naming template; with ``--recursive`` the
folder tree below each input folder is mirrored. Inputs are never overwritten, existing outputs are
skipped unless ``--overwrite``; a file that cannot be read, upscaled or written is reported and
skipped. Progress (file N of M, tiles of the current file, ETA) goes to stderr; a summary ends the
run. Exit status: 0 all good, 1 some file failed, 2 bad arguments or unusable model.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from trainer.naming import DEFAULT_TEMPLATE, FIELDS, TemplateError, render_name, validate_template

# Input format (as read) -> output format when --format is not given.
_SAME_FORMAT = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp", "TIFF": "tiff"}


class UsageError(Exception):
    """Bad command-line values (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    from trainer.device import PRECISIONS
    from trainer.imageio import OUTPUT_FORMATS

    p = argparse.ArgumentParser(
        prog="srgan-upscale",
        description="Upscale images with an SRGAN-family model (4x for the shipped models).",
        epilog="Naming fields: " + ", ".join("{" + f + "}" for f in FIELDS) + ". Exit status: 0 ok, 1 a file failed, 2 usage/model error.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files, folders or glob patterns ('**' for any depth)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", type=Path, help="output folder (created if missing)")
    p.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders and mirror the folder tree")
    p.add_argument("-m", "--model", help="shipped/user model name or model file (default: the shipped default model)")
    p.add_argument("--tile", type=int, default=None, metavar="N", help="tile size in input pixels; 0 = whole image (default: from free memory)")
    p.add_argument("--device", default=None, help="auto (default; SRGAN_DEVICE), cpu, cuda, cuda:N, mps")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="auto = fp32 on CPU, fp16 on GPU")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default=None, help="output format (default: same as input, else png)")
    p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG/WebP quality 1-100 (default 95; WebP 100 = lossless)")
    naming = p.add_mutually_exclusive_group()
    naming.add_argument("--name", default=None, metavar="TEMPLATE", help=f"output name template (default {DEFAULT_TEMPLATE!r})")
    naming.add_argument("--suffix", default=None, help="shortcut for --name '{stem}SUFFIX'")
    p.add_argument("--alpha", choices=("model", "bicubic"), default="model", help="how transparency is upscaled")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never overwritten)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output, only the summary")
    return p


def check_template(template: str) -> str:
    """Validate a naming template; raise :class:`UsageError` naming the problem."""
    try:
        return validate_template(template)
    except TemplateError as exc:
        raise UsageError(str(exc)) from None


def output_path(source: Path, root: Path, out_dir: Path, name: str, fmt: str) -> Path:
    """``out_dir / <source's folder relative to root> / name.fmt``."""
    try:
        rel = source.parent.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path()
    return out_dir / rel / f"{name}.{fmt}"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


@dataclass
class Summary:
    """What happened to each input."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{len(self.written)} upscaled, {len(self.skipped)} skipped, {len(self.failed)} failed"]
        lines += [f"  skipped {p}: {why}" for p, why in self.skipped]
        lines += [f"  failed {p}: {why}" for p, why in self.failed]
        return "\n".join(lines)


def _model_label(model_arg: str) -> str:
    """``{model}`` in names: the zoo name, or a model file's stem."""
    return Path(model_arg).stem if Path(model_arg).is_file() else model_arg


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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

    from trainer.imageio import iter_image_files

    files = list(iter_image_files(args.inputs, recursive=args.recursive))
    if not files:
        print("srgan-upscale: no image files found in the inputs", file=sys.stderr)
        return 1
    upscaler, label = _make_upscaler(args)
    if upscaler is None:
        return 2
    out_dir: Path = args.output.expanduser()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"srgan-upscale: cannot create output folder {out_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    summary = _process(files, upscaler, args, template, label, out_dir)
    print(summary.report())
    return 1 if summary.failed else 0


def _make_upscaler(args: argparse.Namespace):
    """Load the model and build the Upscaler; (None, msg) after printing a clear error."""
    from trainer.inference import Upscaler

    try:
        from trainer import zoo

        name = args.model if args.model is not None else zoo.default_model_name()
        model = zoo.load(name)
        upscaler = Upscaler(model, device=args.device, precision=args.precision, tile=args.tile, alpha=args.alpha)
    except Exception as exc:  # noqa: BLE001 - any model problem ends the run with its message
        print(f"srgan-upscale: {exc}", file=sys.stderr)
        return None, ""
    return upscaler, _model_label(name)


def _process(files, upscaler, args, template: str, label: str, out_dir: Path) -> Summary:
    from tqdm import tqdm

    from trainer.imageio import ImageReadError, ImageWriteError, read_image, save_image
    from trainer.inference import TileDone, TilesPlanned, UpscaleFinished

    inputs = [f for f, _ in files]
    summary = Summary()
    planned_outputs: dict[Path, Path] = {}
    cancel = threading.Event()
    quiet = args.quiet
    bar = tqdm(total=len(files), desc="files", unit="file", file=sys.stderr, disable=quiet or None, position=0)
    tiles = tqdm(total=0, desc="tiles", unit="tile", file=sys.stderr, disable=quiet or None, position=1, leave=False)
    log = (lambda msg: None) if quiet else (lambda msg: tqdm.write(msg, file=sys.stderr))
    try:
        for n, (src, root) in enumerate(files, 1):
            bar.set_description(f"file {n}/{len(files)} {src.name}"[:60])
            t0 = time.perf_counter()
            try:
                image = read_image(src)
                fmt = args.format or _SAME_FORMAT.get((image.format or "").upper(), "png")
                dest = output_path(src, root, out_dir, render_name(template, src, scale=upscaler.scale, model=label), fmt)
                if any(_same(dest, i) for i in inputs):
                    raise ImageWriteError(dest, "refusing to overwrite an input file")
                key = dest.resolve()
                if key in planned_outputs:
                    raise ImageWriteError(dest, f"same output name as {planned_outputs[key]}")
                planned_outputs[key] = src
                if dest.exists() and not args.overwrite:
                    summary.skipped.append((src, f"{dest} exists (use --overwrite)"))
                    log(f"[{n}/{len(files)}] {src}: skipped, {dest} exists")
                    continue
                for event in upscaler.run(image, cancel=cancel):
                    if isinstance(event, TilesPlanned):
                        tiles.reset(total=event.total)
                    elif isinstance(event, TileDone):
                        tiles.update(event.done - tiles.n)
                    elif isinstance(event, UpscaleFinished):
                        image = event.image
                save_image(image, dest, format=fmt, quality=args.quality, dpi_scale=upscaler.scale, overwrite=args.overwrite, protect=inputs)
                summary.written.append(dest)
                log(f"[{n}/{len(files)}] {src} -> {dest} ({time.perf_counter() - t0:.1f} s)")
            except (ImageReadError, ImageWriteError) as exc:
                summary.failed.append((src, exc.reason))
                log(f"[{n}/{len(files)}] {src}: FAILED: {exc.reason}")
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                summary.failed.append((src, f"{type(exc).__name__}: {exc}"))
                log(f"[{n}/{len(files)}] {src}: FAILED: {type(exc).__name__}: {exc}")
            finally:
                bar.update(1)
    except KeyboardInterrupt:
        cancel.set()
        summary.failed.append((Path("(interrupted)"), f"stopped by the user; {len(files) - bar.n} file(s) not processed"))
    finally:
        tiles.close()
        bar.close()
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
