"""Issue 13's stability verdict for a GAN run: the PSNR floors at every validation after step 1000.

    .venv/bin/python scripts/stability.py runs/gan34 --reference runs/gpu2/srresnet_rc_x4/srresnet_rc_x4.safetensors \\
        [--watch] [--holdout-floor 30.794] [--after 1000] [--json OUT]

Two criteria, as docs/GAN_RECIPE.md's sixteenth rule states them:

(i)  the hold-out PSNR the trainer logged at each validation (``metrics.jsonl``; the EMA generator)
     is at least ``--holdout-floor`` (bicubic + 1.0 dB on the run's hold-out) at every validation
     after step ``--after``;
(ii) the checkpoint of each such validation step, measured on Set5 / Set14 / BSD68 as ``srgan-eval``
     does (``scripts/deployed_checkpoints.py --alpha 1``), is at least bicubic + 1.0 dB on each set.

(ii) is measured once per checkpoint into ``RUN/stability/step_<N>.json`` and never redone. With
``--watch`` the script waits for each validation step's checkpoint as the run writes it (start it
``nice``d beside the run) and stops once the run's last step is measured. It prints the table and
the verdict: ``held`` (every validation so far over every floor), ``broken at step N`` or ``held
to step N of M`` while the run is not finished. Report only: nothing here chooses a model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]  # the core, and the sibling scripts measured with

import deployed_checkpoints  # noqa: E402
import gan_validations  # noqa: E402
from trainer.train.checkpoint import checkpoint_dir, checkpoint_name  # noqa: E402

SETS = ("Set5", "Set14", "BSD68")
FLOOR_DB = deployed_checkpoints.FLOOR_DB


def run_plan(run: Path) -> tuple[int, int]:
    """``(val_interval, total_steps)`` of the run, from its ``config.toml``."""
    from trainer import config as cfg

    config = cfg.load(run / "config.toml")
    return int(config.runtime.val_interval), config.total_steps


def checkpoint_of(run: Path, step: int) -> Path:
    return checkpoint_dir(run) / checkpoint_name(step)


def measured(run: Path) -> dict[int, dict]:
    """``{step: {set: {psnr, bicubic_psnr}}}`` of the (ii) measurements on file."""
    out = {}
    for path in sorted((run / "stability").glob("step_*.json")):
        row = json.loads(path.read_text(encoding="utf-8"))["rows"][0]
        out[int(row["step"])] = row["sets"]
    return out


def measure_step(run: Path, step: int, reference: Path) -> Path:
    """Criterion (ii) on the checkpoint of ``step`` (Set5 / Set14 / BSD68), into ``RUN/stability``."""
    out = run / "stability" / f"step_{step}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    deployed_checkpoints.main([str(checkpoint_of(run, step)), "--reference", str(reference), "--alpha", "1",
                               "--sets", *SETS, "--json", str(out)])
    return out


def verdict(validations: list[dict], sets_by_step: dict[int, dict], *, holdout_floor: float, after: int,
            total_steps: int) -> dict:
    """The verdict over the validations after step ``after``: every hold-out PSNR >= ``holdout_floor``
    and every measured set >= its bicubic + 1.0. ``status`` is ``broken`` (with the first failing step
    and what failed), ``held`` (the run's last step validated and measured) or ``held so far``."""
    failures = []
    for row in validations:
        if row["step"] <= after:
            continue
        if row["psnr"] is None or row["psnr"] < holdout_floor:
            failures.append((row["step"], f"hold-out {row['psnr']} < {holdout_floor}"))
        for name, s in sets_by_step.get(row["step"], {}).items():
            if s["psnr"] < s["bicubic_psnr"] + FLOOR_DB:
                failures.append((row["step"], f"{name} {s['psnr']:.3f} < {s['bicubic_psnr'] + FLOOR_DB:.3f}"))
    judged = [r["step"] for r in validations if r["step"] > after]
    last = max(judged, default=0)
    complete = last >= total_steps and all(s in sets_by_step for s in judged)
    if failures:
        step, what = min(failures)
        return {"status": "broken", "step": step, "what": what, "failures": failures, "last_step": last}
    return {"status": "held" if complete else "held so far", "last_step": last, "total_steps": total_steps,
            "holdout_min_margin": min((r["psnr"] - holdout_floor for r in validations if r["step"] > after), default=None)}


def table(validations: list[dict], sets_by_step: dict[int, dict]) -> str:
    lines = ["| step | hold-out PSNR / NIQE | " + " / ".join(SETS) + " |", "|---|---|---|"]
    for r in validations:
        sets = sets_by_step.get(r["step"])
        ii = " / ".join(f"{sets[n]['psnr']:.2f}" for n in SETS if n in sets) if sets else ""
        niqe = "-" if r.get("niqe") is None else f"{r['niqe']:.2f}"
        lines.append(f"| {r['step']} | {r['psnr']:.3f} / {niqe} | {ii} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="the GAN run folder")
    p.add_argument("--reference", type=Path, required=True, help="the SRResNet the run started from (deployed_checkpoints needs it; alpha 1 leaves the generator as it is)")
    p.add_argument("--holdout-floor", type=float, default=30.794, help="bicubic + 1.0 dB on the run's hold-out (default: the six photographs' 30.794)")
    p.add_argument("--after", type=int, default=1000, help="judge the validations after this step (default 1000)")
    p.add_argument("--watch", action="store_true", help="measure each validation step's checkpoint as it appears; stop after the last")
    p.add_argument("--report", action="store_true", help="measure nothing: only the table and the verdict from what is on file (beside a --watch)")
    p.add_argument("--poll", type=float, default=60.0, help="seconds between looks with --watch")
    p.add_argument("--json", type=Path, help="write the table and the verdict as JSON")
    args = p.parse_args(argv)
    every, total = run_plan(args.run)
    steps = range(args.after, total + 1, every)
    while True:
        done = measured(args.run)
        todo = [] if args.report else [s for s in steps if s not in done and checkpoint_of(args.run, s).is_file()]
        for step in todo:
            measure_step(args.run, step, args.reference)
        if args.report or not args.watch or total in measured(args.run):
            break
        if not todo:
            time.sleep(args.poll)
    rows = gan_validations.validations(args.run)
    sets = measured(args.run)
    v = verdict(rows, sets, holdout_floor=args.holdout_floor, after=args.after, total_steps=total)
    print(table(rows, sets))
    print("verdict:", json.dumps(v))
    if args.json is not None:
        from trainer.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({"rows": rows, "sets": {str(k): s for k, s in sets.items()}, "verdict": v}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
