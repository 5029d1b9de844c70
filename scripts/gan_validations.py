"""Hold-out validations of a training run, with NIQE smoothed over neighbouring validations.

    .venv/bin/python scripts/gan_validations.py runs/gan14 [--from-step 4000] [--min-psnr 30.794] [--json OUT]

Prints, per validation in the run's ``metrics.jsonl`` (the last one logged for a step, after a
resume), the hold-out PSNR, SSIM and NIQE, and the *smoothed NIQE*: the mean NIQE of the
validation and of the ones just before and after it (one validation's NIQE on a few images is
noisy). ``--from-step`` names the candidates: the pick is the candidate step with both neighbours
validated and the lowest smoothed NIQE (ties within 0.02: the later step), as a selection rule
written before the run reads (docs/GAN_RECIPE.md, gan14's second rule).

``--min-psnr FLOOR`` picks by the original selection rule instead (docs/GAN_RECIPE.md, "Selection
rule"): among the candidates whose hold-out PSNR is at least FLOOR, the lowest *raw* NIQE; ties
within 0.02 go to the higher PSNR.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TIE = 0.02


def validations(run: Path) -> list[dict]:
    """``[{step, psnr, ssim, niqe}]`` of the run's hold-out validations, by step (later lines win)."""
    by_step: dict[int, dict] = {}
    for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash
        if event.get("event") == "Validation":
            by_step[int(event["step"])] = {k: event.get(k) for k in ("step", "psnr", "ssim", "niqe", "dot_lattice")}
    return [by_step[s] for s in sorted(by_step)]


def smoothed(rows: list[dict]) -> list[dict]:
    """Each row with ``smoothed_niqe`` (mean over it and its neighbours; None at either end)."""
    out = []
    for i, row in enumerate(rows):
        window = rows[i - 1 : i + 2] if 0 < i < len(rows) - 1 else []
        values = [r["niqe"] for r in window]
        ok = len(values) == 3 and all(v is not None for v in values)
        out.append({**row, "smoothed_niqe": sum(values) / 3 if ok else None})
    return out


def pick(rows: list[dict], from_step: int) -> dict | None:
    """The candidate (step >= ``from_step``) with the lowest smoothed NIQE; ties go to the later step."""
    candidates = [r for r in rows if r["step"] >= from_step and r["smoothed_niqe"] is not None]
    if not candidates:
        return None
    best = min(r["smoothed_niqe"] for r in candidates)
    return max((r for r in candidates if r["smoothed_niqe"] <= best + TIE), key=lambda r: r["step"])


def pick_over_floor(rows: list[dict], from_step: int, min_psnr: float) -> dict | None:
    """The candidate (step >= ``from_step``, PSNR >= ``min_psnr``) with the lowest NIQE; ties go to the higher PSNR."""
    candidates = [r for r in rows if r["step"] >= from_step and r["niqe"] is not None
                  and r["psnr"] is not None and r["psnr"] >= min_psnr]
    if not candidates:
        return None
    best = min(r["niqe"] for r in candidates)
    return max((r for r in candidates if r["niqe"] <= best + TIE), key=lambda r: r["psnr"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="training run folder (with metrics.jsonl)")
    p.add_argument("--from-step", type=int, default=0, help="first candidate step (default 0)")
    p.add_argument("--min-psnr", type=float, default=None,
                   help="pick by the original rule: PSNR >= this floor, lowest raw NIQE, ties to the higher PSNR")
    p.add_argument("--json", type=Path, default=None, help="also write the table and the pick as JSON")
    args = p.parse_args(argv)
    rows = smoothed(validations(args.run))
    if not rows:
        raise SystemExit(f"no validations in {args.run / 'metrics.jsonl'}")

    def fmt(v: float | None, digits: int) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    print("| step | PSNR | SSIM | NIQE | smoothed NIQE | dot lattice |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {fmt(r['psnr'], 2)} | {fmt(r['ssim'], 4)} | {fmt(r['niqe'], 2)} | {fmt(r['smoothed_niqe'], 2)} "
              f"| {fmt(r.get('dot_lattice'), 3)} |")
    if args.min_psnr is None:
        chosen = pick(rows, args.from_step)
        print(f"pick (steps >= {args.from_step}): " + ("none (no candidate has both neighbours validated)" if chosen is None
                                                        else f"step {chosen['step']} (smoothed NIQE {chosen['smoothed_niqe']:.3f})"))
    else:
        chosen = pick_over_floor(rows, args.from_step, args.min_psnr)
        print(f"pick (steps >= {args.from_step}, PSNR >= {args.min_psnr}): "
              + ("none (no candidate over the floor)" if chosen is None
                 else f"step {chosen['step']} (NIQE {chosen['niqe']:.3f}, PSNR {chosen['psnr']:.3f})"))
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "from_step": args.from_step, "min_psnr": args.min_psnr,
                                         "pick": chosen}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
