"""Export of a trained generator: a model file (``trainer.modelfile`` format) plus a model card.

The EMA weights are exported (they are what validation measured). The metadata records the recipe,
the full config, the training data, steps, wall time, device and the validation metrics, so
``srgan-eval --model`` and the app can show where a model came from; ``NAME.md`` next to the file
says the same for people.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from trainer.config import TrainingConfig, to_dict
from trainer.loaded_model import LoadedModel
from trainer.atomic import atomic_write_bytes


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
    extra: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``RUN/NAME.safetensors`` (metadata included, plus ``extra``) and ``RUN/NAME.md``;
    returns both paths.

    ``model`` is the generator ``config`` builds (its arch and hyperparameters come from the config).
    """
    from trainer.modelfile import save_model
    from trainer.train.setup import describe_generator

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
        **(extra or {}),
    }
    loaded = describe_generator(config, model)
    path = save_model(loaded, Path(run_dir) / f"{name}.safetensors", metadata=metadata)
    card = Path(run_dir) / f"{name}.md"
    atomic_write_bytes(card, render_card(name, loaded, metadata).encode("utf-8"))
    return path, card


@dataclass(frozen=True)
class CheckpointExport:
    """What :func:`export_checkpoint` wrote: the model file, its card, the checkpoint's step and
    whether the weights are the EMA's."""

    path: Path
    card: Path
    step: int
    ema: bool


def checkpoint_generator(checkpoint: str | os.PathLike, *, raw: bool = False) -> tuple[nn.Module, TrainingConfig, dict[str, Any], bool]:
    """``(generator, config, checkpoint dict, ema)``: the generator of a training checkpoint (its EMA
    weights when it has them and not ``raw``), in eval mode on the CPU, and the run's config."""
    from trainer import models
    from trainer.config import from_dict, validate
    from trainer.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(checkpoint)  # weights_only: data, never pickled objects
    config = validate(from_dict(ckpt["config"], TrainingConfig))
    # Built bare (not through build_generator): the weights come from the checkpoint, so the
    # run's model.init_weights file need not exist here.
    model = models.build(config.model.arch, scale=config.data.scale, **config.model.hparams)
    ema = not raw and bool(ckpt.get("ema"))
    model.load_state_dict(ckpt["ema"]["module"] if ema else ckpt["generator"])
    return model.eval(), config, ckpt, ema


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike, *, raw: bool = False,
                      device: str = "") -> CheckpointExport:
    """Export the generator of a training checkpoint as model file ``output`` and its model card.

    The one checkpoint export of the project (the app's "save model now", ``scripts/export_checkpoint.py``):
    the EMA weights when the checkpoint has them (``raw``: the raw generator's), the run's config,
    recipe and data from the checkpoint itself, with its step, elapsed time and validation metrics,
    ``complete = False`` and ``exported_from`` (the checkpoint's file name). ``output`` is a
    ``.safetensors`` path (the card is the same path with ``.md``; ``{step}`` in it becomes the
    checkpoint's step); ``device`` is what the card says
    the model was trained on (unknown when empty).
    """
    model, config, ckpt, ema = checkpoint_generator(checkpoint, raw=raw)
    step = int(ckpt["step"])
    out = Path(str(output).replace("{step}", str(step)))
    name = out.name[: -len(".safetensors")] if out.name.endswith(".safetensors") else out.name
    path, card = export_model(
        model.eval(), out.parent, name, config=config, phase_index=int(ckpt.get("phase", 0)), steps=step,
        seconds=float(ckpt.get("elapsed", 0.0)), device=device or str(ckpt.get("device") or "?"),
        # Checkpoints before 2026-11-29 did not record the data: folder and path from the config only.
        trained_on=ckpt.get("trained_on") or {"folder": Path(config.data.train_dir).name, "path": config.data.train_dir},
        metrics=ckpt.get("metrics") or {}, ema=ema, complete=False, extra={"exported_from": Path(checkpoint).name},
    )
    return CheckpointExport(path, card, step, ema)


def _images_text(trained_on: dict[str, Any]) -> str:
    n = trained_on.get("images")
    return "image count not recorded" if n is None else f"{n} images"


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


def render_card(name: str, model: LoadedModel, meta: dict[str, Any]) -> str:
    """Markdown model card: architecture, recipe, data, training, metrics."""
    cfg = meta["config"]
    hp = dict(model.hparams)
    n_params = sum(p.numel() for p in model.module.parameters())
    lines = [
        f"# {name}",
        "",
        meta.get("description") or f"Trained with the `{meta['recipe']}` recipe of srgan-train.",
        "",
        "## Model",
        f"- architecture: `{model.arch}` ({n_params / 1e6:.2f} M parameters), x{cfg['data']['scale']}",
        f"- hyperparameters: `{json.dumps(hp)}`",
        f"- weights: {'exponential moving average of the generator' if meta['ema'] else 'raw generator weights'}",
        "",
        "## Training",
        f"- recipe: `{meta['recipe']}`; phase `{meta['phase']}`{'' if meta['complete'] else ' (stopped before the end)'}",
        f"- data: {meta['trained_on'].get('folder')} ({_images_text(meta['trained_on'])}), "
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
        if m.get("blend_psnr") is not None:  # runtime.val_blend: the form the GAN would ship in
            lines.append(f"| {m.get('dataset', '?')}, as shipped ({m.get('blend', 'blend')}) | {m['blend_psnr']:.2f} | "
                         f"{m['blend_ssim']:.4f} | {m['bicubic_psnr']:.2f} | {m['bicubic_ssim']:.4f} |")
    else:
        lines.append("Not validated (no validation folder).")
    lines += ["", "The model file's metadata holds the complete training configuration.", ""]
    return "\n".join(lines)
