"""Where a model gains on web-degraded inputs: per-image figures of ``srgan-eval --degradation web``
grouped by the degradation drawn for each image.

    srgan-eval --model photo_x4 srresnet_x4 --datasets BSD68 --degradation web --json web.json
    python scripts/web_groups.py web.json            # gain over bicubic, per group, every model
    python scripts/web_groups.py web.json --set BSD68@web:0 --baseline bicubic --markdown

A set's mean PSNR hides which inputs hold a model back; issue 14's photo model, for one, gains
little on heavy JPEG and on nearly clean photos. Groups: JPEG quality bands, noise sigma bands,
blur sigma bands, and the mildest inputs (quality >= 75 and noise sigma < 3). Each cell is the
mean over the group's images of (model PSNR - baseline PSNR), in dB; both are measured on the same
LR images (same seeds), so the difference is paired.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

Group = tuple[str, Callable[[dict], bool]]

GROUPS: list[Group] = [
    ("JPEG quality 35-49", lambda p: p["jpeg_quality"] < 50),
    ("JPEG quality 50-64", lambda p: 50 <= p["jpeg_quality"] < 65),
    ("JPEG quality 65-79", lambda p: 65 <= p["jpeg_quality"] < 80),
    ("JPEG quality 80-90", lambda p: p["jpeg_quality"] >= 80),
    ("noise sigma < 2", lambda p: p["noise_sigma"] < 2),
    ("noise sigma 2-5", lambda p: 2 <= p["noise_sigma"] < 5),
    ("noise sigma 5-8", lambda p: p["noise_sigma"] >= 5),
    ("blur sigma < 0.53", lambda p: p["blur_sigma"] < 0.2 + 1 / 3),
    ("blur sigma 0.53-0.87", lambda p: 0.2 + 1 / 3 <= p["blur_sigma"] < 0.2 + 2 / 3),
    ("blur sigma >= 0.87", lambda p: p["blur_sigma"] >= 0.2 + 2 / 3),
    ("mildest (quality >= 75, noise < 3)", lambda p: p["jpeg_quality"] >= 75 and p["noise_sigma"] < 3),
    ("all", lambda p: True),
]


def per_image(report: dict, method: str, set_key: str) -> dict[str, dict]:
    """The ``per_image`` map of ``report[method][set_key]``; a clear error when it is missing."""
    try:
        entry = report[method][set_key]
    except KeyError:
        have = {m: sorted(sets) for m, sets in report.items()}
        raise SystemExit(f"web_groups: no entry for {method!r} on {set_key!r} in the JSON (it has {have})") from None
    images = entry.get("per_image")
    if not images or "jpeg_quality" not in next(iter(images.values())):
        raise SystemExit(f"web_groups: {method} on {set_key} has no per-image degradation parameters: "
                         "measure it with srgan-eval --degradation web --json (2026-11-29 or later)")
    return images


def group_gains(report: dict, set_key: str, baseline: str = "bicubic") -> tuple[list[str], list[tuple[str, int, list[float]]]]:
    """``(models, rows)``: each row is ``(group, images, [mean gain over baseline per model])``.

    Groups without images are left out. Raises ``SystemExit`` when the JSON lacks what is needed."""
    base = per_image(report, baseline, set_key)
    models = [m for m in report if m != baseline and set_key in report[m]]
    if not models:
        raise SystemExit(f"web_groups: no model besides {baseline!r} was measured on {set_key!r}")
    images = {m: per_image(report, m, set_key) for m in models}
    rows = []
    for label, member in GROUPS:
        names = [n for n, rec in base.items() if member(rec)]
        if not names:
            continue
        gains = [sum(images[m][n]["psnr"] - base[n]["psnr"] for n in names) / len(names) for m in models]
        rows.append((label, len(names), gains))
    return models, rows


def format_rows(models: list[str], rows: list[tuple[str, int, list[float]]], baseline: str, markdown: bool) -> str:
    """A plain or Markdown table of gains (dB, signed, 2 decimals)."""
    head = ["group", "images", *[f"{m} - {baseline}" for m in models]]
    body = [[label, str(n), *[f"{g:+.2f}" for g in gains]] for label, n, gains in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *body])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", type=Path, help="srgan-eval --degradation web --json output")
    p.add_argument("--set", default=None, help="set key, e.g. BSD68@web:0 (default: the first degraded set)")
    p.add_argument("--baseline", default="bicubic", help="method the gains are measured against (default bicubic)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = p.parse_args(argv)
    try:
        report = json.loads(args.json.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"web_groups: cannot read {args.json}: {exc}") from None
    set_key = args.set
    if set_key is None:
        keys = [k for sets in report.values() for k in sets if "@" in k]
        if not keys:
            raise SystemExit(f"web_groups: {args.json} holds no degraded set (srgan-eval --degradation web)")
        set_key = keys[0]
    models, rows = group_gains(report, set_key, args.baseline)
    print(f"{set_key}: mean PSNR gain over {args.baseline} (dB) per group")
    print(format_rows(models, rows, args.baseline, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
