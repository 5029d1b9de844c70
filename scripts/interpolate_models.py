"""Blend a PSNR-oriented model and a GAN model (network interpolation) and pick the blend by rule.

Usage (repository root)::

    # one blend, written as a model file (--notch 16: with the lattice notch against A)
    .venv/bin/python scripts/interpolate_models.py A.safetensors B.safetensors --alpha 0.6 --out mix.safetensors
    # a sweep on a run's hold-out images, with docs/GAN_RECIPE.md's selection rule
    .venv/bin/python scripts/interpolate_models.py resources/models/srresnet_x4.safetensors RUN/model.safetensors \
        --sweep 0.2 0.4 0.6 0.8 1.0 --holdout-of RUN [--out best.safetensors] [--json sweep.json]

The sweep evaluates each blend on the run's hold-out images (``data.holdout`` of its config: the
same files the trainer validated on) with the paper protocol plus NIQE (shave 4), and picks by the
rule: among the blends whose hold-out PSNR is at least bicubic + 1.0 dB (or ``--min-psnr DB``), the
lowest NIQE (ties within 0.02 go to the higher PSNR). With ``--max-niqe N`` it takes instead the
lowest alpha over the floor whose NIQE is at most N (the least GAN that reaches a NIQE target, so the
least of its lattice), falling back to the lowest NIQE when none reaches N. Benchmark sets only
report, they never choose.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from pathlib import Path

from trainer import modelfile
from trainer.atomic import atomic_write_text
from trainer.evaluation import evaluate_set, image_files, model_upscale_fn
from trainer.interpolate import interpolate, with_lattice_notch
from trainer.train.holdout import link_holdout

FLOOR_DB = 1.0  # hold-out PSNR must be at least bicubic + this
TIE_NIQE = 0.02


def holdout_folder(run: Path, into: Path) -> Path:
    """Links to the run's hold-out images in ``into`` (the trainer's own choice and order of files:
    :func:`trainer.train.holdout.link_holdout`)."""
    cfg = tomllib.loads((run / "config.toml").read_text(encoding="utf-8"))
    data = cfg.get("data", {})
    train_dir, n = Path(data["train_dir"]), int(data.get("holdout", 0))
    if n <= 0:
        raise SystemExit(f"{run}: the run has no hold-out (data.holdout = 0)")
    return link_holdout(train_dir, n, into)


def floor_db(bicubic_psnr: float, min_psnr: float | None) -> float:
    """The rule's hold-out PSNR floor: ``min_psnr`` when given, else bicubic + 1.0 dB."""
    return bicubic_psnr + FLOOR_DB if min_psnr is None else min_psnr


def pick(rows: list[dict], min_psnr: float | None = None, max_niqe: float | None = None) -> dict | None:
    """The selection rule over ``rows`` (``alpha``, ``psnr``, ``bicubic_psnr``, ``niqe``), floor by
    :func:`floor_db`; with ``max_niqe``, the lowest alpha over the floor whose NIQE reaches it."""
    ok = [r for r in rows if r["psnr"] >= floor_db(r["bicubic_psnr"], min_psnr) and r["niqe"] is not None]
    if not ok:
        return None
    reach = [r for r in ok if r["niqe"] <= max_niqe] if max_niqe is not None else []
    if reach:
        return min(reach, key=lambda r: r["alpha"])
    best = min(r["niqe"] for r in ok)
    return max((r for r in ok if r["niqe"] <= best + TIE_NIQE), key=lambda r: r["psnr"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", type=Path, help="alpha = 0 end (the PSNR-oriented model)")
    p.add_argument("b", type=Path, help="alpha = 1 end (the GAN model)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--alpha", type=float, help="write this one blend to --out")
    how.add_argument("--sweep", type=float, nargs="+", help="evaluate these blends on --holdout-of RUN's hold-out")
    p.add_argument("--holdout-of", type=Path, metavar="RUN", help="run folder whose hold-out images choose")
    p.add_argument("--out", type=Path, help="model file to write (the blend, or the sweep's pick)")
    p.add_argument("--json", type=Path, help="sweep figures as JSON")
    p.add_argument("--min-psnr", type=float, metavar="DB",
                   help="hold-out PSNR floor in dB instead of bicubic + 1.0 (e.g. the model a blend is to replace)")
    p.add_argument("--max-niqe", type=float, metavar="N",
                   help="take the lowest alpha over the floor with hold-out NIQE <= N (else the lowest NIQE)")
    p.add_argument("--extrapolate", action="store_true",
                   help="allow alpha past 1 (up to 2): A + alpha (B - A), on along B's direction (eighteenth rule)")
    p.add_argument("--notch", type=float, metavar="SIGMA",
                   help="the written file gets the lattice notch against A (window SIGMA output px; the sweep "
                        "still measures the plain blends): SRResNet.lattice_notch, docs/GAN_RECIPE.md session 18")
    args = p.parse_args(argv)
    a, b = modelfile.load_model(args.a), modelfile.load_model(args.b)

    def write(alpha: float, extra: dict | None = None) -> None:
        mixed = interpolate(a, b, alpha, args.extrapolate)
        if args.notch:
            mixed = with_lattice_notch(mixed, a, args.notch)
            extra = {**(extra or {}), "lattice_notch": mixed.metadata["lattice_notch"]}
        meta = {k: v for k, v in dict(b.metadata).items() if k not in modelfile.RESERVED_KEYS and k != "created"}
        meta.update({"interpolated": mixed.metadata["interpolated"], **(extra or {})})
        modelfile.save_model(mixed, args.out, metadata=meta)
        print(f"wrote {args.out} (alpha {alpha:g})")

    if args.alpha is not None:
        if args.out is None:
            p.error("--alpha needs --out")
        write(args.alpha)
        return 0
    if args.holdout_of is None:
        p.error("--sweep needs --holdout-of RUN")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = holdout_folder(args.holdout_of, Path(tmp))
        names = [f.name for f in image_files(folder)]
        for alpha in args.sweep:
            res = evaluate_set(folder, model_upscale_fn(interpolate(a, b, alpha, args.extrapolate), "cpu"), scale=a.scale, niqe=True)
            bic = evaluate_set(folder, None, scale=a.scale) if not rows else None
            bicubic_psnr = bic.psnr if bic is not None else rows[0]["bicubic_psnr"]
            row = {"alpha": alpha, "psnr": res.psnr, "ssim": res.ssim, "niqe": res.niqe, "bicubic_psnr": bicubic_psnr}
            rows.append(row)
            print(f"alpha {alpha:4.2f}: hold-out PSNR {res.psnr:.3f} dB (floor {floor_db(bicubic_psnr, args.min_psnr):.3f}) "
                  f"NIQE {res.niqe if res.niqe is None else round(res.niqe, 3)}", flush=True)
    chosen = pick(rows, args.min_psnr, args.max_niqe)
    rule = ("hold-out PSNR >= bicubic + 1.0 dB" if args.min_psnr is None else f"hold-out PSNR >= {args.min_psnr:g} dB") + (
        ", lowest NIQE" if args.max_niqe is None else f", lowest alpha with NIQE <= {args.max_niqe:g} (else lowest NIQE)")
    print("rule picks:", "none (every blend under the PSNR floor)" if chosen is None else f"alpha {chosen['alpha']:g}")
    if args.json is not None:
        atomic_write_text(args.json, json.dumps({"a": str(args.a), "b": str(args.b), "holdout": names,
                                                 "rows": rows, "chosen": chosen}, indent=2) + "\n")
    if chosen is not None and args.out is not None:
        write(chosen["alpha"], {"selection": {"rule": rule,
                                              "holdout_psnr": round(chosen["psnr"], 4), "holdout_niqe": round(chosen["niqe"], 4)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
