"""How a model does on web-like JPEG inputs whose block grid does not start at the top-left pixel.

A network given ``jpeg_grid`` planes assumes the 8x8 blocks start at its input's first pixel, which is
true of a decoded JPEG file but not of a JPEG cropped after decoding (a screenshot of part of a photo,
say). This measures each model on the same ``--degradation web`` inputs (srgan-eval's seeds) twice: as
decoded, and with the first ``dy`` rows and ``dx`` columns of the LR cut off (the HR cut to match), so the
grid starts at (8 - dy, 8 - dx). Y-PSNR, shave 4, and blockiness (PROTOCOL.md), per model and offset.

    python scripts/jpeg_grid_offset.py --models photo_x4 runs/x/best.safetensors --set BSD68 --offset 3 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trainer.blockiness import blockiness  # noqa: E402
from trainer.evaluation import image_files, model_upscale_fn, read_rgb_u8, resolve_dataset  # noqa: E402
from trainer.metrics import psnr_y  # noqa: E402
from trainer.webdegrade import crop_to_scale, web_degrade  # noqa: E402
from trainer.zoo import load  # noqa: E402


def measure(model_name: str, folder: Path, offsets: list[tuple[int, int]], seed: int, limit: int) -> dict[str, list[float]]:
    """Mean (PSNR, blockiness) of ``model_name`` per offset on the web-degraded images of ``folder``."""
    fn = model_upscale_fn(load(model_name), "cpu")
    rows: dict[str, list[list[float]]] = {f"{dy},{dx}": [] for dy, dx in offsets}
    for index, path in enumerate(image_files(folder)[: limit or None]):
        hr = crop_to_scale(read_rgb_u8(path), 4)
        lr, _ = web_degrade(hr, 4, seed + index)
        for dy, dx in offsets:
            lr_c, hr_c = lr[dy:, dx:], hr[4 * dy :, 4 * dx :]
            sr = fn(np.ascontiguousarray(lr_c))
            # blockiness is measured on the grid the JPEG really has: cut the SR back onto it
            gy, gx = (-dy) % 8, (-dx) % 8
            rows[f"{dy},{dx}"].append([psnr_y(hr_c, sr), blockiness(sr[4 * gy :, 4 * gx :], 4)])
    return {k: [float(np.mean([r[0] for r in v])), float(np.mean([r[1] for r in v]))] for k, v in rows.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True, help="shipped names or model files")
    p.add_argument("--set", default="BSD68", help="benchmark set or folder")
    p.add_argument("--offset", nargs=2, type=int, default=(3, 5), metavar=("DY", "DX"), help="LR rows / columns cut off")
    p.add_argument("--seed", type=int, default=0, help="web degradation seed base (srgan-eval's default 0)")
    p.add_argument("--limit", type=int, default=0, help="first N images only (0 = all)")
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    _, folder = resolve_dataset(args.set)
    offsets = [(0, 0), (args.offset[0], args.offset[1])]
    result = {}
    print(f"{args.set}@web:{args.seed}, Y-PSNR (dB) / blockiness, grid as decoded and cut by {tuple(args.offset)}")
    for name in args.models:
        result[name] = measure(name, folder, offsets, args.seed, args.limit)
        cells = "  ".join(f"{k}: {v[0]:.3f} / {v[1]:.3f}" for k, v in result[name].items())
        print(f"{name}: {cells}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
