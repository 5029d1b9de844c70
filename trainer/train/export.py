"""Export of a trained generator: a model file (``trainer.modelfile`` format) plus a model card.

The EMA weights are exported (they are what validation measured). The metadata records the recipe,
the full config, the training data, steps, wall time, device and the validation metrics, so
``srgan-eval --model`` and the app can show where a model came from; ``NAME.md`` next to the file
says the same for people.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from torch import nn

from trainer.config import TrainingConfig, to_dict
from trainer.train.checkpoint import atomic_write_bytes


def export_name(config: TrainingConfig, phase_index: int) -> str:
    """File stem for the model exported at the end of phase ``phase_index``."""
    phase = config.phases[phase_index]
    if phase.export:
        return phase.export
    base = f"{config.recipe}_x{config.data.scale}"
    return base if phase_index == len(config.phases) - 1 else f"{base}_{phase.name}"


def export_model(
    model: nn.Module,
    run_dir: str | os.PathLike,
    name: str,
    *,
    config: TrainingConfig,
    phase_index: int,
    steps: int,
    seconds: float,
    device: str,
    trained_on: dict[str, Any],
    metrics: dict[str, Any],
    ema: bool,
    complete: bool = True,
) -> tuple[Path, Path]:
    """Write ``RUN/NAME.safetensors`` (metadata included) and ``RUN/NAME.md``; returns both paths."""
    from trainer.modelfile import save_model

    phase = config.phases[phase_index]
    metadata = {
        "recipe": config.recipe,
        "description": config.description,
        "phase": phase.name,
        "config": to_dict(config),
        "trained_on": trained_on,
        "steps": steps,
        "wall_time_s": round(seconds, 1),
        "device": device,
        "metrics": metrics,
        "ema": ema,
        "complete": complete,
    }
    path = save_model(model, Path(run_dir) / f"{name}.safetensors", metadata=metadata)
    card = Path(run_dir) / f"{name}.md"
    atomic_write_bytes(card, render_card(name, model, metadata).encode("utf-8"))
    return path, card


def _loss_summary(phase: dict[str, Any]) -> str:
    parts = []
    if phase["pixel"]["weight"] > 0:
        parts.append(f"{phase['pixel']['weight']:g} x {phase['pixel']['type'].upper()} pixel")
    if phase["content"]["type"] != "none":
        c = phase["content"]
        parts.append(f"{c['weight']:g} x VGG19 {'+'.join(c['layers'])} ({c['vgg_weights']} weights)")
    if phase["adversarial"]["type"] != "none":
        a = phase["adversarial"]
        parts.append(f"{a['weight']:g} x {a['type']} adversarial ({phase['discriminator']['arch']})")
    return " + ".join(parts)


def render_card(name: str, model: nn.Module, meta: dict[str, Any]) -> str:
    """Markdown model card: architecture, recipe, data, training, metrics."""
    cfg = meta["config"]
    hp = getattr(model, "hparams", {})
    n_params = sum(p.numel() for p in model.parameters())
    lines = [
        f"# {name}",
        "",
        meta.get("description") or f"Trained with the `{meta['recipe']}` recipe of srgan-train.",
        "",
        "## Model",
        f"- architecture: `{getattr(model, 'arch', '?')}` ({n_params / 1e6:.2f} M parameters), x{cfg['data']['scale']}",
        f"- hyperparameters: `{json.dumps(hp)}`",
        f"- weights: {'exponential moving average of the generator' if meta['ema'] else 'raw generator weights'}",
        "",
        "## Training",
        f"- recipe: `{meta['recipe']}`; phase `{meta['phase']}`{'' if meta['complete'] else ' (stopped before the end)'}",
        f"- data: {meta['trained_on'].get('folder')} ({meta['trained_on'].get('images')} images), "
        f"{cfg['data']['crop']}x{cfg['data']['crop']} HR crops, batch {cfg['data']['batch_size']}, "
        f"LR by {cfg['data']['degradation']}",
        f"- steps: {meta['steps']} in {meta['wall_time_s'] / 60:.1f} min on {meta['device']}",
    ]
    for ph in cfg["phases"]:
        opt = ph["optimizer"]
        lines.append(f"- phase `{ph['name']}`: {ph['iterations']} iterations, {_loss_summary(ph)}; Adam lr {opt['lr']:g} ({opt['schedule']})")
    lines += ["", "## Validation (Y channel, shave = scale; see PROTOCOL.md)"]
    m = meta["metrics"]
    if m:
        lines += [
            "| set | PSNR (dB) | SSIM | bicubic PSNR | bicubic SSIM |",
            "|---|---|---|---|---|",
            f"| {m.get('dataset', '?')} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['bicubic_psnr']:.2f} | {m['bicubic_ssim']:.4f} |",
        ]
    else:
        lines.append("Not validated (no validation folder).")
    lines += ["", "The model file's metadata holds the complete training configuration.", ""]
    return "\n".join(lines)
