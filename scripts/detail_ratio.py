"""Fine detail, grid artefacts and colour shift of each model, next to its Y-PSNR (for GAN models).

Usage::

    .venv/bin/python scripts/detail_ratio.py --models srresnet_x4 srgan_x4 runs/x/model.safetensors \
        --set Set14

PSNR rewards blur: the MSE-optimal output averages the plausible textures away. The *detail
ratio* is a simple, reference-based measure of the other side: the energy of the Laplacian of the
output's Y channel divided by that of the ground truth (both shaved like the PSNR), averaged over
the set. 1.0 = as much fine structure as the ground truth; bicubic and MSE models sit well below
(smooth); a GAN should move towards 1.0, and a ratio above 1.0 means invented high frequencies
(noise, checkerboard) rather than detail. It says nothing about *where* the detail is: the crops
of ``compare_crops.py`` are still needed to judge artefacts.

Two artefact measures go with it:

* *grid*: the x4 generator makes each output pixel at one of 16 positions (x mod 4, y mod 4) of
  its pixel-shuffle lattice; a checkerboard shows as errors (SR - HR, Y) whose mean depends on that
  position. Reported: the standard deviation of the 16 per-position mean errors, in Y levels
  (0..255 scale), averaged over the set; a clean model is near 0. Per image this also measures
  noise: with the errors of a 256x256 crop, 16 means of ~4000 correlated pixels each scatter by
  ~0.1 level without any lattice (bicubic, which has no pixel-shuffle, scores 0.147 on Set14).
* *set grid*: the same spread of the 16 per-position means, but of the errors pooled over every
  pixel of the set: a lattice the network adds to every image (a checkerboard) survives pooling,
  image-specific scatter averages out.
* *dot lattice* (no reference): single-pixel dots at one position of the lattice whose sign follows
  the content (light on dark, dark on light) cancel in the mean error, so *grid* misses them. They
  show as fine-detail energy that depends on the position: the coefficient of variation, over the
  16 positions, of the mean square of Y minus its Gaussian blur (sigma 1). HR ~0.03; bicubic ~0.44
  (interpolation is sharpest at the LR sample positions); a dotted GAN output 0.5 and more.
* *colour*: the mean Cb and Cr errors (BT.601, 0..255 scale) over each image; reported the mean
  over the set of the larger of the two absolute values; a colour shift shows as > 1 level.
* *overshoot* (halos): next to strong edges of the ground truth (Sobel magnitude of HR's Y in the
  top 10% of the image, dilated by 2 px), how far the output leaves the range the ground truth
  spans there (its 5x5 local min..max), in Y levels, averaged over those pixels. Sharpening by
  edge overshoot (light halos along dark lines) raises it; real detail inside the range does not.

``--niqe`` adds NIQE (no-reference, lower is better, :mod:`trainer.niqe`); ``--json`` writes the table.
"""

from __future__ import annotations

import argparse

import numpy as np

from trainer import zoo
from trainer.evaluation import image_files, model_upscale_fn, read_rgb_u8, resolve_dataset
from trainer.metrics import bicubic_upscale, dot_lattice, prepare_pair, psnr_y, rgb_to_y, shave


def laplacian_energy(img_u8: np.ndarray, border: int = 4) -> float:
    """Mean squared 4-neighbour Laplacian of the Y channel (0..255 scale), border shaved."""
    y = shave(rgb_to_y(img_u8).astype(np.float64), border)
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(np.mean(lap**2))


def grid_bias(hr_u8: np.ndarray, sr_u8: np.ndarray, period: int = 4, border: int = 4) -> float:
    """Std of the mean Y error over the ``period x period`` output positions (Y levels)."""
    return pooled_grid(position_error_sums(hr_u8, sr_u8, period, border))


def position_error_sums(hr_u8: np.ndarray, sr_u8: np.ndarray, period: int = 4, border: int = 4) -> np.ndarray:
    """Per-position sums and counts of the Y error, shape (2, period, period), to pool over images."""
    err = shave(rgb_to_y(sr_u8) - rgb_to_y(hr_u8), border)
    out = np.zeros((2, period, period))
    for i in range(period):
        for j in range(period):
            block = err[i::period, j::period]
            out[0, i, j], out[1, i, j] = block.sum(), block.size
    return out


def pooled_grid(sums: np.ndarray) -> float:
    """Std of the per-position mean errors from summed :func:`position_error_sums` (Y levels)."""
    return float(np.std(sums[0] / sums[1]))


def colour_shift(hr_u8: np.ndarray, sr_u8: np.ndarray, border: int = 4) -> float:
    """max(|mean Cb error|, |mean Cr error|) in 0..255 levels (BT.601 chroma)."""
    def cbcr(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, g, b = (shave(img, border)[..., k].astype(np.float64) for k in range(3))
        return -0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b

    (cb_s, cr_s), (cb_h, cr_h) = cbcr(sr_u8), cbcr(hr_u8)
    return float(max(abs((cb_s - cb_h).mean()), abs((cr_s - cr_h).mean())))


def overshoot(hr_u8: np.ndarray, sr_u8: np.ndarray, border: int = 4) -> float:
    """Mean excursion (Y levels) of SR outside HR's 5x5 local range next to HR's strongest edges."""
    from scipy import ndimage

    y_hr = shave(rgb_to_y(hr_u8).astype(np.float64), border)
    y_sr = shave(rgb_to_y(sr_u8).astype(np.float64), border)
    mag = np.hypot(ndimage.sobel(y_hr, 0), ndimage.sobel(y_hr, 1))
    near = ndimage.binary_dilation(mag >= np.percentile(mag, 90), iterations=2)
    lo, hi = ndimage.minimum_filter(y_hr, 5), ndimage.maximum_filter(y_hr, 5)
    out = np.maximum(y_sr - hi, 0) + np.maximum(lo - y_sr, 0)
    return float(out[near].mean()) if near.any() else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True, help="zoo names or model files")
    p.add_argument("--set", default="Set14", help="benchmark set name or folder")
    p.add_argument("--niqe", action="store_true", help="also NIQE of each output (lower is better)")
    p.add_argument("--peer", action="store_true", help="also the peer model (scripts/peer_model.py; its weights must be there)")
    p.add_argument("--json", default=None, help="also write the table to this JSON file")
    args = p.parse_args(argv)

    _, folder = resolve_dataset(args.set)
    pairs = [prepare_pair(read_rgb_u8(f), 4) for f in image_files(folder)]
    methods = [("bicubic", lambda lr: bicubic_upscale(lr, 4))]
    for name in args.models:
        model = zoo.load(name)
        methods.append((name, model_upscale_fn(model, "cpu")))
    if args.peer:
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).parent))
        from peer_model import load_peer

        methods.append(("peer (leftthomas netG_epoch_4_100)", model_upscale_fn(load_peer(), "cpu")))
    print(f"{args.set} ({len(pairs)} images): Y-PSNR (shave 4), detail ratio (Laplacian energy SR / HR), "
          "grid (Y levels), colour shift (levels), overshoot (Y levels)" + (", NIQE" if args.niqe else "")
          + ", set grid (Y levels, errors pooled over the set), dot lattice (HR "
          + f"{np.mean([dot_lattice(hr) for hr, _ in pairs]):.3f})")
    cols = ["PSNR", "detail ratio", "grid", "colour shift", "overshoot"] + (["NIQE"] if args.niqe else []) + ["set grid", "dot lattice"]
    print("| method | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    table = {}
    for name, fn in methods:
        rows = []
        sums, dots = np.zeros((2, 4, 4)), []
        for hr, lr in pairs:
            sr = fn(lr)
            own = position_error_sums(hr, sr)  # this image's grid, and its share of the set's
            sums += own
            row = [psnr_y(hr, sr), laplacian_energy(sr) / laplacian_energy(hr), pooled_grid(own), colour_shift(hr, sr), overshoot(hr, sr)]
            dots.append(dot_lattice(sr))
            if args.niqe:
                from trainer.niqe import niqe

                value = niqe(sr, shave=4)
                row.append(np.nan if value is None else value)
            rows.append(row)
        m = list(np.nanmean(np.array(rows, dtype=np.float64), axis=0)) + [pooled_grid(sums), float(np.mean(dots))]
        table[name] = dict(zip(cols, (round(float(v), 4) for v in m)))
        print(f"| {name} | {m[0]:.2f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.2f} | {m[4]:.2f} |" + (f" {m[5]:.3f} |" if args.niqe else "")
              + f" {m[-2]:.3f} | {m[-1]:.3f} |", flush=True)
    if args.json:
        import json
        from pathlib import Path

        Path(args.json).write_text(json.dumps({"set": args.set, "images": len(pairs), "methods": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
