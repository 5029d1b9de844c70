"""Side-by-side crops (LR nearest | bicubic | model A | model B ... | HR) for the model cards.

Usage::

    .venv/bin/python scripts/compare_crops.py --models srresnet_x4 srgan_x4 \
        --image ../shared/data/benchmarks/Set14/baboon.png --box 200 60 96 96 \
        -o resources/models/comparison_x4.png

The LR image is made with the protocol's bicubic (as in evaluation), every panel is the same HR
region enlarged ``--zoom`` times with nearest neighbour so pixels stay visible, and each panel is
labelled with its name and its Y-PSNR on the crop.

With ``--jpeg Q`` the input is a photo as people have it instead: the image reduced ``--down``
times (MATLAB bicubic) and saved as JPEG quality ``Q`` (4:2:0) is the model's input; there is no
ground truth at the output's size, so there is no HR panel and no PSNR, and ``--box`` is in
output pixels. ``--save-input`` keeps that JPEG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from trainer import zoo
from trainer.atomic import atomic_path
from trainer.evaluation import model_upscale_fn, read_rgb_u8
from trainer.loaded_model import LoadedModel
from trainer.metrics import bicubic_upscale, prepare_pair, psnr_y


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--box", nargs=4, type=int, metavar=("X", "Y", "W", "H"), required=True, help="HR crop")
    p.add_argument("--zoom", type=int, default=3)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--jpeg", type=int, default=0, metavar="Q", help="input = the image reduced --down times, as JPEG quality Q")
    p.add_argument("--down", type=float, default=2.0, help="reduction before the JPEG (with --jpeg; default 2)")
    p.add_argument("--save-input", type=Path, default=None, help="also write the JPEG input here (with --jpeg)")
    args = p.parse_args(argv)

    first = zoo.load(args.models[0])
    scale = first.scale
    if args.jpeg:
        return _jpeg_panels(args, first, scale)
    hr, lr = prepare_pair(read_rgb_u8(args.image), scale)
    panels: list[tuple[str, np.ndarray]] = [
        ("LR (nearest)", np.repeat(np.repeat(lr, scale, 0), scale, 1)),
        ("bicubic", bicubic_upscale(lr, scale)),
    ]
    for name in args.models:
        model = first if name == args.models[0] else zoo.load(name)
        panels.append((name, model_upscale_fn(model, "cpu")(lr)))
    panels.append(("HR", hr))
    _write(panels, args, hr)
    return 0


def _jpeg_panels(args: argparse.Namespace, first: LoadedModel, scale: int) -> int:
    import io

    from trainer.imresize import imresize

    small = imresize(read_rgb_u8(args.image), 1.0 / args.down)
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, format="JPEG", quality=args.jpeg, subsampling=2)
    if args.save_input:
        args.save_input.write_bytes(buf.getvalue())
    lr = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    panels: list[tuple[str, np.ndarray]] = [
        (f"JPEG q{args.jpeg} input (nearest)", np.repeat(np.repeat(lr, scale, 0), scale, 1)),
        ("bicubic", bicubic_upscale(lr, scale)),
    ]
    for name in args.models:
        model = first if name == args.models[0] else zoo.load(name)
        panels.append((name, model_upscale_fn(model, "cpu")(lr)))
    _write(panels, args, None)
    return 0


def _write(panels: list[tuple[str, np.ndarray]], args: argparse.Namespace, hr: np.ndarray | None) -> None:
    x, y, w, h = args.box
    tiles = []
    for label, img in panels:
        crop = img[y : y + h, x : x + w]
        text = label if hr is None or label.startswith(("LR", "HR")) else f"{label} {psnr_y(hr[y:y+h, x:x+w], crop, shave=0):.2f} dB"
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
    with atomic_path(args.output) as tmp:  # the format from the output's suffix, written under a temp name
        out.save(tmp, format=Image.registered_extensions().get(args.output.suffix.lower(), "PNG"))
    print(f"wrote {args.output} ({out.width}x{out.height})")


if __name__ == "__main__":
    raise SystemExit(main())
