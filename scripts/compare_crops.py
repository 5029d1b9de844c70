"""Side-by-side crops (LR nearest | bicubic | model A | model B ... | HR) for the model cards.

Usage::

    .venv/bin/python scripts/compare_crops.py --models srresnet_x4 srgan_x4 \
        --image ../shared/data/benchmarks/Set14/baboon.png --box 200 60 96 96 \
        -o resources/models/comparison_x4.png

The LR image is made with the protocol's bicubic (as in evaluation), every panel is the same HR
region enlarged ``--zoom`` times with nearest neighbour so pixels stay visible, and each panel is
labelled with its name and its Y-PSNR on the crop.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from trainer import zoo
from trainer.evaluation import model_upscale_fn, read_rgb_u8
from trainer.metrics import bicubic_upscale, prepare_pair, psnr_y


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--box", nargs=4, type=int, metavar=("X", "Y", "W", "H"), required=True, help="HR crop")
    p.add_argument("--zoom", type=int, default=3)
    p.add_argument("-o", "--output", type=Path, required=True)
    args = p.parse_args(argv)

    first = zoo.load(args.models[0])
    scale = first.scale
    hr, lr = prepare_pair(read_rgb_u8(args.image), scale)
    x, y, w, h = args.box
    panels: list[tuple[str, np.ndarray]] = [
        ("LR (nearest)", np.repeat(np.repeat(lr, scale, 0), scale, 1)),
        ("bicubic", bicubic_upscale(lr, scale)),
    ]
    for name in args.models:
        model = first if name == args.models[0] else zoo.load(name)
        panels.append((name, model_upscale_fn(model, "cpu")(lr)))
    panels.append(("HR", hr))

    tiles = []
    for label, img in panels:
        crop = img[y : y + h, x : x + w]
        text = label if label.startswith(("LR", "HR")) else f"{label} {psnr_y(hr[y:y+h, x:x+w], crop, shave=0):.2f} dB"
        big = Image.fromarray(crop).resize((w * args.zoom, h * args.zoom), Image.NEAREST)
        canvas = Image.new("RGB", (big.width, big.height + 22), "white")
        canvas.paste(big, (0, 22))
        ImageDraw.Draw(canvas).text((4, 4), text, fill="black")
        tiles.append(canvas)
    gap = 6
    out = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) - 1), tiles[0].height), "white")
    pos = 0
    for t in tiles:
        out.paste(t, (pos, 0))
        pos += t.width + gap
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp.png")
    out.save(tmp)
    tmp.replace(args.output)
    print(f"wrote {args.output} ({out.width}x{out.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
