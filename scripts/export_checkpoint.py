"""Export a training checkpoint's generator (EMA weights by default) as a model file.

    .venv/bin/python scripts/export_checkpoint.py runs/NAME/checkpoints/best.pt -o runs/NAME/NAME_best.safetensors

A run exports its final (and stopped) models by itself; this is for an earlier checkpoint, e.g. the
best one by validation PSNR when a GAN phase degrades later on. The metadata (recipe, config, data)
is the run's, with the checkpoint's step, elapsed time and validation metrics.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="the .safetensors file to write")
    p.add_argument("--raw", action="store_true", help="the raw generator instead of its EMA")
    args = p.parse_args(argv)

    from trainer import models
    from trainer.config import TrainingConfig, from_dict, validate
    from trainer.modelfile import save_model
    from trainer.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(args.checkpoint)  # weights_only: data, never pickled objects
    config = validate(from_dict(ckpt["config"], TrainingConfig))
    # Built bare (not through build_generator): the weights come from the checkpoint, so the
    # run's model.init_weights file need not exist here.
    model = models.build(config.model.arch, scale=config.data.scale, **config.model.hparams)
    ema = ckpt.get("ema")
    if args.raw or not ema:
        state = ckpt["generator"]
    else:
        state = ema["module"]
    model.load_state_dict(state)
    phase = config.phases[ckpt["phase"]]
    metadata = {
        "recipe": config.recipe,
        "description": config.description,
        "phase": phase.name,
        "config": ckpt["config"],
        "steps": int(ckpt["step"]),
        "wall_time_s": round(float(ckpt.get("elapsed", 0.0)), 1),
        "metrics": ckpt.get("metrics") or {},
        "ema": not args.raw and bool(ema),
        "complete": False,
        "exported_from": args.checkpoint.name,
    }
    path = save_model(model, args.output, metadata=metadata)
    print(f"wrote {path} (step {ckpt['step']}, {'raw' if args.raw or not ema else 'EMA'} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
