"""A run's checkpoints measured in the form the GAN ships: blended with its PSNR model, notched.

    .venv/bin/python scripts/deployed_checkpoints.py runs/gan28/checkpoints/step_*.pt \\
        --reference runs/gpu2/srresnet_rc_x4/srresnet_rc_x4.safetensors --alpha 0.74 --notch 16 \\
        [--sets Set5 Set14 BSD68] [--niqe] [--json OUT]

For each checkpoint (its EMA generator), the raw generator and the deployed form
(``trainer.train.deployed.DeployedForm``, what ``runtime.val_blend`` validates during a run) on the
run's own hold-out images, computed as the trainer validates (whole images, Y, shave = scale), and,
with ``--sets``, the deployed form on benchmark folders as ``srgan-eval`` measures them. Each figure
is printed next to its floor (bicubic + 1.0 dB on the same images), so the PSNR-floor-at-every-
validation criterion of issue 13 can be read for checkpoints of runs made before
``runtime.val_blend`` existed. Report only: benchmark sets never choose a model here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FLOOR_DB = 1.0


def holdout_validator(config, niqe: bool):
    """The trainer's validator over the run's hold-out images (``data.holdout`` of its config)."""
    from trainer.train.holdout import holdout_files
    from trainer.train.validation import Validator

    train_dir = Path(config.data.train_dir)
    if config.data.holdout <= 0:
        raise SystemExit(f"the run trained on {train_dir} without a hold-out (data.holdout = 0)")
    files = holdout_files(train_dir, config.data.holdout)
    return Validator(train_dir, scale=config.data.scale, files=files, name="holdout", niqe=niqe, samples=0)


def measure(checkpoint: Path, form, *, sets: list[str], niqe: bool, validators: dict, bicubic: dict) -> dict:
    """One checkpoint's row: step, hold-out raw and deployed figures, and the deployed form per set.
    ``validators`` (by training folder and hold-out size) and ``bicubic`` (by set) are kept across rows."""
    import torch

    from trainer.evaluation import evaluate_set, model_upscale_fn
    from trainer.paths import benchmarks_dir
    from trainer.train.export import checkpoint_generator
    from trainer.train.setup import describe_generator

    module, config, ckpt, _ = checkpoint_generator(checkpoint)
    key = (config.data.train_dir, config.data.holdout)
    if key not in validators:
        validators[key] = holdout_validator(config, niqe)
    v = validators[key]
    cpu = torch.device("cpu")
    raw_psnr, *_ = v.run(module, cpu)
    raw_niqe = v.last_niqe
    deployed = form.build(describe_generator(config, module))
    psnr, ssim, *_ = v.run(deployed, cpu)
    row = {"checkpoint": str(checkpoint), "step": int(ckpt["step"]), "bicubic_psnr": v.bicubic_psnr,
           "raw": {"psnr": raw_psnr, "niqe": raw_niqe}, "deployed": {"psnr": psnr, "ssim": ssim, "niqe": v.last_niqe}, "sets": {}}
    for name in sets:
        folder = Path(name) if Path(name).is_dir() else benchmarks_dir() / name
        res = evaluate_set(folder, model_upscale_fn(deployed, cpu), scale=config.data.scale)
        if name not in bicubic:
            bicubic[name] = evaluate_set(folder, None, scale=config.data.scale).psnr
        row["sets"][folder.name] = {"psnr": res.psnr, "ssim": res.ssim, "bicubic_psnr": bicubic[name]}
    return row


def line(row: dict) -> str:
    """A printed row: step, hold-out raw / deployed (floor), each set's deployed PSNR (floor)."""
    floor = row["bicubic_psnr"] + FLOOR_DB
    raw, dep = row["raw"], row["deployed"]
    niqe = (lambda x: "" if x is None else f" / {x:.2f}")
    mark = (lambda v, f: "" if v >= f else " UNDER")
    ckpt = Path(row["checkpoint"])
    run = ckpt.parent.parent.name if ckpt.parent.name == "checkpoints" else ckpt.parent.name
    out = (f"{run:>8} step {row['step']:5d}: hold-out raw {raw['psnr']:.3f}{niqe(raw['niqe'])}, "
           f"deployed {dep['psnr']:.3f}{niqe(dep['niqe'])} (floor {floor:.3f}){mark(dep['psnr'], floor)}")
    for name, s in row["sets"].items():
        f = s["bicubic_psnr"] + FLOOR_DB
        out += f"; {name} {s['psnr']:.2f} (floor {f:.2f}){mark(s['psnr'], f)}"
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", type=Path, nargs="+", help="training checkpoints (RUN/checkpoints/step_*.pt)")
    p.add_argument("--reference", type=Path, required=True, help="the PSNR model the GAN is blended with (and notched against)")
    p.add_argument("--alpha", type=float, required=True, help="blend weight of the GAN, (0, 1]")
    p.add_argument("--notch", type=float, default=0.0, metavar="SIGMA", help="lattice notch against --reference (0: none)")
    p.add_argument("--sets", nargs="*", default=[], help="benchmark sets (names under the shared benchmarks, or folders) to measure the deployed form on too (report only)")
    p.add_argument("--niqe", action="store_true", help="also the hold-out NIQE of both forms")
    p.add_argument("--json", type=Path, help="rows as JSON")
    args = p.parse_args(argv)
    if not 0 < args.alpha <= 1:
        p.error(f"--alpha must be in (0, 1], got {args.alpha}")
    from trainer.atomic import atomic_write_text
    from trainer.modelfile import load_model
    from trainer.train.deployed import DeployedForm

    form = DeployedForm(load_model(args.reference), args.alpha, args.notch)
    rows, validators, bicubic = [], {}, {}
    for ckpt in args.checkpoints:
        rows.append(measure(ckpt, form, sets=args.sets, niqe=args.niqe, validators=validators, bicubic=bicubic))
        print(line(rows[-1]), flush=True)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps({"reference": str(args.reference), "alpha": args.alpha, "notch": args.notch,
                                                 "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
