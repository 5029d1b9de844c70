"""``srgan-export MODEL --onnx OUT.onnx [--fp16] [--opset N] [--fixed-size WxH]``: a model as an ONNX file.

MODEL is a shipped or user model name or a model file (``trainer.zoo.load``). The graph is the
network with the inference engine's rewrites (:mod:`trainer.export`), dynamic in batch, height
and width, input ``input`` (N x C x H x W, values 0-1) and output ``output`` (N x C x H*s x W*s).
Before the file is written the export is run with ONNX Runtime and compared with the network; a
network that cannot be exported faithfully is refused with the reason. The file is written
atomically (a failed run leaves no partial file). Exit status: 0 written, 1 model or export
failure, 2 bad arguments.

``--fixed-size WxH`` (or ``N`` for N x N) is for networks whose code depends on the input size
(SwinIR and its family), which the dynamic export refuses with a hint to use it: the graph takes
exactly W x H pixels (the batch stays dynamic where the graph allows it, else it is 1), is checked
at that size, and carries the size in its ``metadata_props`` (``input_width``, ``input_height``,
``scale``) so a runtime knows to feed tiles of that size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trainer.zoo_info import shipped_models_help  # stdlib only: no torch for --help

PROG = "srgan-export"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog=PROG, description="Export an upscaling model to ONNX (dynamic or fixed size, checked with ONNX Runtime).",
        epilog="Shipped models: " + shipped_models_help() + ". Exit status: 0 written, 1 model/export error, 2 usage.",
    )
    p.add_argument("model", metavar="MODEL", help="shipped/user model name or model file")
    p.add_argument("--onnx", required=True, type=Path, metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--fp16", action="store_true", help="half-precision weights, input and output (default fp32)")
    p.add_argument("--opset", type=int, default=17, metavar="N", help="ONNX operator set, 17 or newer (default 17)")
    p.add_argument("--fixed-size", type=parse_size, default=None, metavar="WxH",
                   help="export for input tiles of exactly W x H pixels (N: N x N), size in the file's metadata; "
                        "for networks whose code depends on the input size, e.g. SwinIR (default: any size)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.onnx if it exists")
    return p


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` or ``"N"`` as ``(height, width)``, each side 1 or more (argparse type)."""
    parts = text.strip().lower().split("x")
    try:
        if len(parts) not in (1, 2):
            raise ValueError
        sides = [int(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH or N (e.g. 64x64 or 64), got {text!r}") from None
    width, height = sides if len(sides) == 2 else sides * 2
    if min(width, height) < 1:
        raise argparse.ArgumentTypeError(f"each side must be 1 or more, got {text!r}")
    return height, width


class CliError(Exception):
    """An error reported as one line on stderr (exit status 1)."""


def run(args: argparse.Namespace) -> str:
    """Export and write the file; return the summary line. Raises :class:`CliError`."""
    from trainer import zoo
    from trainer.atomic import atomic_write_bytes
    from trainer.export import ExportError, export_onnx

    out = args.onnx.expanduser()
    if out.is_dir():
        raise CliError(f"{out}: is a folder, give a file name such as {out / 'model.onnx'}")
    if out.exists() and not args.overwrite:
        raise CliError(f"{out}: already exists (use --overwrite to replace it)")
    try:
        loaded = zoo.load(args.model, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any load failure: one line naming the model
        reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise CliError(f"cannot load model {args.model}: {reason}") from exc
    try:
        result = export_onnx(loaded, opset=args.opset, fp16=args.fp16, size=args.fixed_size)
    except ExportError as exc:
        hint = ("; it matches at one size: export it for tiles of a fixed size with --fixed-size WxH "
                "(e.g. --fixed-size 64x64)") if exc.size_dependent else ""
        raise CliError(f"cannot export {args.model} ({loaded.arch}): {exc}{hint}") from exc
    try:
        atomic_write_bytes(out, result.data, overwrite=args.overwrite)
    except OSError as exc:
        raise CliError(f"{out}: cannot write ({exc.strerror or exc})") from exc
    fixed = ""
    if result.size:
        batch = "batch 1 (its code fixes the batch)" if result.batch == 1 else "any batch"
        fixed = f"fixed {result.size[1]}x{result.size[0]} input, {batch}, "
    return (f"{out}: {loaded.arch} x{result.scale}, {result.precision}, opset {result.opset}, {fixed}"
            f"{len(result.data) / 1e6:.1f} MB; ONNX Runtime matches the network within {result.max_diff:.1e}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``srgan-export``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error (argparse already printed it)
        return int(exc.code or 0)
    if args.opset < 17:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: --opset must be 17 or newer, got {args.opset}", file=sys.stderr)
        return 2
    try:
        print(run(args))
    except CliError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (nothing written)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
