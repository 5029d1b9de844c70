"""Build a GAN run's candidate `srgan_x4` file from one checkpoint and measure it against the gate.

    .venv/bin/python scripts/gan_candidate.py runs/gan34 3500 \\
        --reference runs/gpu2/srresnet_rc_x4/srresnet_rc_x4.safetensors --out runs/cand [--json OUT]

The form the project ships a GAN in (docs/GAN_RECIPE.md, nineteenth rule): the checkpoint's EMA
generator (``srgan-train --export-checkpoint``), notched (sigma 16) against the SRResNet the run
started from, stored fp16. Written to ``OUT/<run>_s<step>.safetensors`` (fp32, what
``scripts/ship_model.py --fp16`` takes) and ``..._fp16.safetensors`` (what is measured).

Measured on the fp16 file with ``scripts/detail_ratio.py`` (its Y-PSNR is ``srgan-eval``'s, shave 4,
with the bicubic row beside it): Set5, and with ``--niqe`` Set14, BSD68 and the run's hold-out
photographs, one pass over each set. Then the
revised item 3's gate: (a) PSNR >= bicubic + 1.0 on each set, (b) NIQE under the peer's on Set14 and
BSD68, (c) Set14 grid, overshoot and dot lattice under their limits, (d) hold-out PSNR >= its floor.
(e), stability over the run's validations, is ``scripts/stability.py``'s verdict. Report only: the
rule written before a run says what ships.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SETS = ("Set5", "Set14", "BSD68")
# The gate's limits (issue 13; docs/GAN_RECIPE.md, revised item 3): the peer's NIQE, srresnet_x4's
# Set14 grid, the peer's overshoot, the dot-lattice limit; set floors are bicubic + 1.0 (measured).
LIMITS = {"niqe": {"Set14": 5.289, "BSD68": 6.23}, "grid": 0.143, "overshoot": 0.14, "dot lattice": 0.139,
          "holdout_psnr": 30.794}


def build(run: Path, step: int, reference: Path, out: Path, notch: float = 16.0) -> tuple[Path, Path]:
    """The candidate's fp32 and fp16 files (EMA generator, notched against ``reference``)."""
    import torch

    from trainer.interpolate import with_lattice_notch
    from trainer.modelfile import RESERVED_KEYS, load_model, read_metadata, save_model
    from trainer.train.checkpoint import checkpoint_dir, checkpoint_name
    from trainer.train.export import export_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    stem = f"{run.name}_s{step}"
    ema = export_checkpoint(checkpoint_dir(run) / checkpoint_name(step), out / f"{stem}_ema.safetensors").path
    notched = with_lattice_notch(load_model(ema), load_model(reference), notch)
    # The export's training record (config, data, steps, wall time, device) travels with the candidate, so
    # ship_model's card states the recipe actually used; the description and notch say what was done after.
    meta = {k: v for k, v in read_metadata(ema).items() if k not in (*RESERVED_KEYS, "created", "metrics")}
    meta["description"] = f"{run.name} step {step}, EMA generator, notched (sigma {notch:g}) against {reference.name}"
    meta["lattice_notch"] = {"reference": str(reference), "sigma": notch}
    fp32 = save_model(notched, out / f"{stem}.safetensors", metadata=meta)
    fp16 = save_model(notched, out / f"{stem}_fp16.safetensors", metadata=meta, dtype=torch.float16)
    return fp32, fp16


def holdout_folder(run: Path, out: Path) -> Path:
    """A folder of links to the run's hold-out photographs (``data.holdout`` of its config), in the
    trainer's order (:func:`trainer.train.holdout.link_holdout`)."""
    from trainer import config as cfg
    from trainer.train.holdout import link_holdout

    config = cfg.load(run / "config.toml")
    return link_holdout(config.data.train_dir, config.data.holdout, out / f"{run.name}_holdout")


def measure(model: Path, holdout: Path, out: Path) -> dict:
    """Every figure of the gate, measured on ``model``: ``{set: detail_ratio's methods table}``."""
    stem = model.name.removesuffix(".safetensors")
    figures: dict = {}
    for name, folder in (("Set5", "Set5"), ("Set14", "Set14"), ("BSD68", "BSD68"), ("holdout", str(holdout))):
        j = out / f"{stem}.detail.{name}.json"
        niqe = [] if name == "Set5" else ["--niqe"]  # the gate reads no NIQE on Set5
        subprocess.run([sys.executable, str(ROOT / "scripts" / "detail_ratio.py"), "--models", str(model), "--set", folder,
                        *niqe, "--json", str(j)], check=True, stdout=subprocess.DEVNULL)
        figures[name] = json.loads(j.read_text(encoding="utf-8"))["methods"]
    return figures


def gate(summary: dict, limits: dict = LIMITS) -> dict:
    """Pass/fail of (a)-(d) from a summary ``{psnr: {set: (model, bicubic)}, niqe: {set: v},
    grid, overshoot: {set: v}, dot: {set: v}, holdout: (psnr, niqe)}``."""
    checks = {
        "a": all(m >= b + 1.0 for m, b in summary["psnr"].values()),
        "b": all(summary["niqe"][s] < limits["niqe"][s] for s in limits["niqe"]),
        "c": summary["grid"] <= limits["grid"] and all(v <= limits["overshoot"] for v in summary["overshoot"].values())
        and all(v <= limits["dot lattice"] for v in summary["dot"].values()),
        "d": summary["holdout"][0] >= limits["holdout_psnr"],
    }
    return {**checks, "pass": all(checks.values())}


def summarise(figures: dict, model: Path) -> dict:
    """The gate's inputs out of the measured figures (``figures[set][method]``, methods ``bicubic`` and ``str(model)``)."""
    m = {name: table[str(model)] for name, table in figures.items()}
    psnr = {s: (m[s]["PSNR"], figures[s]["bicubic"]["PSNR"]) for s in SETS}
    return {"psnr": psnr, "niqe": {s: m[s]["NIQE"] for s in ("Set14", "BSD68")}, "grid": m["Set14"]["grid"],
            "overshoot": {s: m[s]["overshoot"] for s in ("Set14", "BSD68")},
            "dot": {s: m[s]["dot lattice"] for s in ("Set14", "BSD68")},
            "detail": {s: m[s]["detail ratio"] for s in ("Set14", "BSD68")},
            "holdout": (m["holdout"]["PSNR"], m["holdout"]["NIQE"])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("step", type=int)
    p.add_argument("--reference", type=Path, required=True, help="the SRResNet the run started from")
    p.add_argument("--notch", type=float, default=16.0)
    p.add_argument("--out", type=Path, required=True, help="folder for the files and the measurements")
    p.add_argument("--json", type=Path, help="the summary and the gate as JSON")
    args = p.parse_args(argv)
    fp32, fp16 = build(args.run, args.step, args.reference, args.out, args.notch)
    summary = summarise(measure(fp16, holdout_folder(args.run, args.out), args.out), fp16)
    result = {"run": str(args.run), "step": args.step, "file": str(fp32), "measured": str(fp16), **summary, "gate": gate(summary)}
    print(json.dumps(result, indent=1))
    if args.json is not None:
        from trainer.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
