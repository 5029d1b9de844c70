"""Export a training checkpoint's generator (EMA weights by default) as a model file.

    .venv/bin/python scripts/export_checkpoint.py runs/NAME/checkpoints/best.pt -o runs/NAME/NAME_best.safetensors

A run exports its final (and stopped) models by itself; this is for an earlier checkpoint, e.g. the
best one by validation PSNR when a GAN phase degrades later on. The metadata (recipe, config, data)
is the run's, with the checkpoint's step, elapsed time and validation metrics; a model card
(``.md``) is written next to the file. The export itself is ``trainer.train.export.export_checkpoint``,
the same one the app's "save model now" uses.
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

    from trainer.train.export import export_checkpoint

    done = export_checkpoint(args.checkpoint, args.output, raw=args.raw)
    print(f"wrote {done.path} (step {done.step}, {'EMA' if done.ema else 'raw'} weights; model card {done.card.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
