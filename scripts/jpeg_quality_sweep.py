"""Models on clean LR saved as JPEG at chosen qualities (optionally blurred and noisy first): where
the photo model stops paying off against the clean ones.

    python scripts/jpeg_quality_sweep.py --set Set14 --quality 95 92 90
    python scripts/jpeg_quality_sweep.py --set Set14 --quality 95 --blur 0.8 --noise 3

``srgan-eval --degradation web`` draws JPEG quality 35-90; phones and cameras write 90-95. Per
image: HR cropped to a multiple of 4 (PROTOCOL.md), optional Gaussian blur sigma ``--blur`` on HR,
MATLAB bicubic x1/4, optional Gaussian noise sigma ``--noise`` (seeded per image), rounding, then
JPEG at each quality (4:2:0, Pillow). Prints PSNR (Y, shave 4) and blockiness (PROTOCOL.md) per
model, means over the set. The same LR images go to every model.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", default="Set14", help="benchmark set or folder of HR images")
    p.add_argument("--quality", type=int, nargs="+", default=[95, 90])
    p.add_argument("--blur", type=float, default=0.0, help="Gaussian blur sigma on HR (0: none)")
    p.add_argument("--noise", type=float, default=0.0, help="Gaussian noise sigma on the LR, grey levels (0: none)")
    p.add_argument("--models", nargs="+", default=["photo_x4", "srgan_x4", "srresnet_x4"])
    args = p.parse_args(argv)

    import torch
    from PIL import Image

    from trainer import zoo
    from trainer.blockiness import blockiness
    from trainer.evaluation import image_files, model_upscale_fn, read_rgb_u8, resolve_dataset
    from trainer.imresize import imresize
    from trainer.metrics import bicubic_upscale, psnr_y
    from trainer.webdegrade import crop_to_scale, gaussian_blur

    methods = {"bicubic": lambda lr: bicubic_upscale(lr, 4)}
    methods.update({m: model_upscale_fn(zoo.load(m), "cpu") for m in args.models})
    _, folder = resolve_dataset(args.set)
    files = image_files(folder)
    for quality in args.quality:
        rows: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
        for i, path in enumerate(files):
            hr = crop_to_scale(read_rgb_u8(path), 4)
            src = gaussian_blur(hr, args.blur) if args.blur > 0 else hr.astype(np.float64)
            lr = imresize(src, 0.25)
            if args.noise > 0:
                lr = lr + np.random.default_rng(i).normal(0, args.noise, lr.shape)
            lr = np.clip(np.round(lr), 0, 255).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(lr).save(buf, "JPEG", quality=quality, subsampling=2)
            lq = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            for name, fn in methods.items():
                sr = fn(lq)
                rows[name].append((psnr_y(hr, sr), blockiness(sr, 4)))
        print(f"{args.set}, blur {args.blur}, noise {args.noise}, JPEG quality {quality}:")
        for name, vals in rows.items():
            a = np.array(vals)
            print(f"  {name:14s} PSNR {a[:, 0].mean():.3f}  blockiness {np.nanmean(a[:, 1]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
