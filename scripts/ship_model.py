"""Turn a trained model file into a shipped default model with its measured model card.

Usage (from the repository root)::

    .venv/bin/python scripts/ship_model.py RUN/export/model.safetensors --name srresnet_x4 \
        --run RUN --note "..." [--fp16]

It stores the weights (fp16 on request) in ``resources/models/<name>.safetensors``, then measures
*what ships* (the stored file, loaded back) with the protocol on Set5, Set14 and BSD68, writes the
figures (set means and the per-image Set5 values the regression test checks) into the file's
metadata, and writes ``resources/models/<name>.md``, the model card.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from trainer import modelfile, paths
from trainer.atomic import atomic_write_text
from trainer.evaluation import evaluate_set, model_upscale_fn, resolve_dataset

SETS = ("Set5", "Set14", "BSD68")

# PROTOCOL.md, "Published results to aim at" (x4, Y channel, shave 4). BSD100 figures stand next to
# BSD68 only as a reference: BSD68 is a 68-image subset of BSD100.
PUBLISHED = {
    "bicubic (SRGAN paper)": {"Set5": (28.43, 0.8211), "Set14": (25.99, 0.7486), "BSD68": (25.94, 0.6935)},
    "SRResNet (paper)": {"Set5": (32.05, 0.9019), "Set14": (28.49, 0.8184), "BSD68": (27.58, 0.7620)},
    "SRGAN VGG54 (paper)": {"Set5": (29.40, 0.8472), "Set14": (26.02, 0.7397), "BSD68": (25.16, 0.6688)},
}


def measure(path: Path) -> dict:
    """Protocol figures of the model file at ``path`` and of bicubic, per set (+ per image)."""
    model = modelfile.load_model(path)
    fn = model_upscale_fn(model, "cpu")
    out: dict = {"model": {}, "bicubic": {}}
    for set_name in SETS:
        _, folder = resolve_dataset(set_name)
        for key, upscale in (("model", fn), ("bicubic", None)):
            res = evaluate_set(folder, upscale, scale=model.scale)
            out[key][set_name] = {
                "psnr": round(res.psnr, 4),
                "ssim": round(res.ssim, 5),
                "images": res.images,
                "seconds_per_image": round(res.seconds_per_image, 4),
                "per_image": {r.name: {"psnr": round(r.psnr, 4), "ssim": round(r.ssim, 5)} for r in res.per_image}
                if set_name == "Set5"
                else None,
            }
            print(f"{key:8s} {set_name:6s} {res.psnr:7.3f} dB  {res.ssim:.4f}", file=sys.stderr)
    return out


WEB_SETS = ("BSD68", "Set14")


def measure_web(path: Path, others: list[str]) -> dict:
    """Figures on web-like degraded inputs (``srgan-eval --degradation web``, seed base 0) of the model
    file, bicubic and the named reference models: ``{method: {set: {psnr, ssim, blockiness, hr_blockiness}}}``."""
    from trainer import zoo
    from trainer.webdegrade import WebDegradation

    methods = {"model": model_upscale_fn(modelfile.load_model(path), "cpu"), "bicubic": None}
    methods.update({name: model_upscale_fn(zoo.load(name), "cpu") for name in others})
    out: dict = {}
    for key, fn in methods.items():
        for set_name in WEB_SETS:
            _, folder = resolve_dataset(set_name)
            res = evaluate_set(folder, fn, scale=4, degradation=WebDegradation(0))
            out.setdefault(key, {})[set_name] = {"psnr": round(res.psnr, 4), "ssim": round(res.ssim, 5),
                                                 "blockiness": round(res.blockiness, 4), "hr_blockiness": round(res.hr_blockiness, 4)}
            print(f"{key:12s} {set_name}@web:0 {res.psnr:7.3f} dB  {res.ssim:.4f}  blockiness {res.blockiness:.3f}", file=sys.stderr)
    return out


def web_markdown(name: str, web: dict) -> list[str]:
    """The card's table of figures on web-like degraded inputs."""
    lines = [
        "",
        "## Quality on web-like degraded inputs (`srgan-eval --degradation web`, seed base 0)",
        "",
        "Per image: Gaussian blur sigma U(0.2, 1.2) on HR, MATLAB bicubic x1/4, Gaussian noise sigma U(0, 8) levels "
        "per channel, JPEG quality U(35, 90) 4:2:0 (PROTOCOL.md). Blockiness: mean Y step across the output's "
        "32-px block grid over the mean step elsewhere (HR: "
        + " / ".join(f"{web['bicubic'][s]['hr_blockiness']:.2f}" for s in WEB_SETS) + ").",
        "",
        "| method | " + " | ".join(f"{s}@web:0 PSNR / SSIM / blockiness" for s in WEB_SETS) + " |",
        "|---|" + "---|" * len(WEB_SETS),
    ]
    for key, figs in web.items():
        label = f"**{name}** (this file)" if key == "model" else key
        cells = [f"{figs[s]['psnr']:.2f} / {figs[s]['ssim']:.4f} / {figs[s]['blockiness']:.2f}" for s in WEB_SETS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def content_loss_text(meta: dict) -> str:
    """The card's "Content loss" line: ``content_loss`` when the shipper set it, else read from the
    training configuration stored in the file (the phases that ran), else "not recorded"."""
    if meta.get("content_loss"):
        return str(meta["content_loss"])
    phases = [p for p in (meta.get("config") or {}).get("phases", []) if p.get("iterations", 0) > 0]
    if not phases:
        return "not recorded in the model file"
    used = []
    for p in phases:
        content = p.get("content") or {}
        if content.get("type", "none") != "none" and content.get("weight", 0) > 0:
            used.append(f"{p.get('name')}: {content['type']} {'/'.join(content.get('layers', []))} "
                        f"({content.get('criterion', '?')}, weight {content['weight']:g})")
    if used:
        return "; ".join(used)
    pixel = sorted({(p.get("pixel") or {}).get("type", "?") for p in phases})
    return f"none: {'/'.join(pixel).upper()} pixel loss only (content.type is 'none' in every phase that ran)"


def card_markdown(name: str, meta: dict, figures: dict, note: str, web: dict | None = None) -> str:
    """The Markdown model card."""
    hp = meta.get("hparams", {})
    lines = [
        f"# {name}",
        "",
        meta.get("description", ""),
        "",
        f"- Architecture: `{meta.get('arch')}` {json.dumps(hp)}",
        f"- Scale: x{meta.get('scale')}",
        f"- Stored as: {meta.get('storage_dtype', 'float32')} safetensors (figures below measured on this file)",
        f"- Recipe: `{meta.get('recipe', '?')}`; steps: {meta.get('steps', '?')}; wall time: "
        f"{meta.get('wall_time_s', '?')} s on {meta.get('hardware', '?')}",
        f"- Trained on: {json.dumps(meta.get('trained_on', '?'))}",
        f"- Content loss: {content_loss_text(meta)}",
        f"- Intended for: {meta.get('intended_for', 'clean images')}",
        "",
        "## Quality (PROTOCOL.md: x4, Y channel, shave 4, MATLAB bicubic LR; `srgan-eval` reproduces it)",
        "",
        "| method | " + " | ".join(f"{s} PSNR / SSIM" for s in SETS) + " |",
        "|---|" + "---|" * len(SETS),
    ]
    for key, label in (("model", f"**{name}** (this file)"), ("bicubic", "bicubic (this protocol)")):
        cells = [f"{figures[key][s]['psnr']:.2f} / {figures[key][s]['ssim']:.4f}" for s in SETS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, sets in PUBLISHED.items():
        cells = [f"{sets[s][0]:.2f} / {sets[s][1]:.4f}" for s in SETS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paper rows: SSIM computed with a different implementation (about +0.01 vs Wang SSIM); "
        "their BSD column is BSD100, ours BSD68 (a subset). Compare PSNR.",
        "",
        "Set5 per image (the CI regression test checks these within 0.05 dB):",
        "",
        "| image | PSNR | SSIM |",
        "|---|---|---|",
    ]
    for img, v in figures["model"]["Set5"]["per_image"].items():
        lines.append(f"| {img} | {v['psnr']:.4f} | {v['ssim']:.5f} |")
    if web:
        lines += web_markdown(name, web)
    if meta.get("config"):
        lines += ["", "## Training configuration", "", "```json", json.dumps(meta["config"], indent=2), "```"]
    if note:
        lines += ["", "## Notes", "", note]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, help="trained model file (.safetensors from srgan-train)")
    p.add_argument("--name", required=True, help="shipped name, e.g. srresnet_x4")
    p.add_argument("--fp16", action="store_true", help="store fp16 weights (half the size)")
    p.add_argument("--description", default="")
    p.add_argument("--note", default="", help="free text for the card's Notes section (Markdown)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="extra metadata")
    p.add_argument("--web", nargs="*", default=None, metavar="MODEL",
                   help="also measure on web-like degraded BSD68/Set14 (photo models), next to these shipped models")
    args = p.parse_args(argv)

    src = modelfile.load_model(args.model)
    meta = dict(src.metadata)
    for item in args.set:
        key, _, value = item.partition("=")
        meta[key] = json.loads(value)
    meta.setdefault("hardware", f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    if args.description:
        meta["description"] = args.description
    user_meta = {k: v for k, v in meta.items() if k not in modelfile.RESERVED_KEYS}
    dest = paths.models_dir() / f"{args.name}.safetensors"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if args.fp16 else None
    modelfile.save_model(src, dest, metadata=user_meta, dtype=dtype)
    figures = measure(dest)  # measured on what ships (fp16 round trip included)
    user_meta["metrics"] = figures["model"]
    user_meta["bicubic_metrics"] = {s: {k: v for k, v in d.items() if k != "per_image"} for s, d in figures["bicubic"].items()}
    web = None
    if args.web is not None:
        web = measure_web(dest, args.web)
        user_meta["web_metrics"] = {f"{s}@web:0": v for s, v in web["model"].items()}
    modelfile.save_model(src, dest, metadata=user_meta, dtype=dtype)
    full = modelfile.read_metadata(dest)
    card = card_markdown(args.name, full, figures, args.note, web)
    atomic_write_text(dest.with_suffix(".md"), card)
    print(f"shipped {dest} ({dest.stat().st_size / 1e6:.1f} MB) and {dest.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
