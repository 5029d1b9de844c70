"""Training-speed benchmark (run by hand, not in CI): the SRGAN phase-2 step, naive vs the trainer.

    python benchmarks/bench_training.py                # defaults: batch 16, 96x96 HR crops, SRResNet B=16
    python benchmarks/bench_training.py --steps 10 --device cuda --compile
    python benchmarks/bench_training.py --device cuda --data DIR --json OUT.json   # figures also as JSON

Both loops run the SRGAN (Ledig et al.) phase-2 objective on the same networks and batches:
VGG19 relu5_4 content loss (ImageNet weights when present, else random weights: the speed is the
same), 1e-3 BCE adversarial loss, SRResNet generator, SRGAN discriminator, Adam.

* naive: the seed projects' way: fp32, eager, NCHW; HR features computed with autograd on; the
  discriminator not frozen during the generator step (its weight gradients are computed and thrown
  away); data read from disk per sample with PIL (decode, crop, PIL bicubic).
* trainer: ``trainer.train.step.GANStep`` as ``srgan-train`` runs it: channels-last (CPU and CUDA;
  ``--channels-last on|off`` overrides), bf16 autocast on GPUs, one discriminator forward on SR
  shared by the generator and discriminator steps, HR features without autograd, fused Adam, EMA
  update included; data from the in-memory crop pipeline with the MATLAB bicubic on the device.

Prints steps/s of the step alone (same batch every step), of the whole loop (with data loading),
their ratios, and the data time as a share of the trainer's step time. It also counts the
arithmetic of one step of each side (``torch.utils.flop_counter``: convolutions and matrix products,
forward and backward) and the GFLOP/s each side reaches: the work ratio is the speed-up that doing
less work alone gives; the rest of the measured ratio is faster kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SRGAN_OFFLINE", "1")  # a benchmark never downloads: random VGG weights stand in

from trainer import models  # noqa: E402
from trainer.config import AdversarialConfig, ContentLossConfig, DataConfig, PhaseConfig, PixelLossConfig  # noqa: E402
from trainer.train.data import CropDataset, ImageStore, degrade, make_loader, to_float  # noqa: E402
from trainer.train.ema import ModelEMA  # noqa: E402
from trainer.train.losses import ContentLoss  # noqa: E402
from trainer.train.step import GANStep  # noqa: E402
from trainer.vgg import VGGFeatures, VGGWeightsMissing  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def vgg_weights() -> str:
    """``imagenet`` when the weights are present, else ``random`` (same cost)."""
    try:
        VGGFeatures(("relu1_1",), weights="imagenet")
        return "imagenet"
    except VGGWeightsMissing:
        return "random"


class NaiveData:
    """Per-sample PIL decode + random crop + PIL bicubic, as the seed projects' datasets do."""

    def __init__(self, folder: Path, crop: int, scale: int, batch: int) -> None:
        from trainer.imageio import iter_image_files

        self.files = [f for f, _ in iter_image_files([folder])]
        self.crop, self.scale, self.batch = crop, scale, batch

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image

        hrs, lrs = [], []
        for _ in range(self.batch):
            with Image.open(random.choice(self.files)) as im:
                im = im.convert("RGB")
                x = random.randint(0, im.width - self.crop)
                y = random.randint(0, im.height - self.crop)
                hr = im.crop((x, y, x + self.crop, y + self.crop))
                lr = hr.resize((self.crop // self.scale,) * 2, Image.BICUBIC)
            hrs.append(torch.from_numpy(np.asarray(hr).transpose(2, 0, 1).copy()).float() / 255)
            lrs.append(torch.from_numpy(np.asarray(lr).transpose(2, 0, 1).copy()).float() / 255)
        return torch.stack(lrs), torch.stack(hrs)


def count_gflop(job) -> float:
    """GFLOP (convolutions and matrix products, forward and backward) of one call of ``job``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        job()
    return counter.get_total_flops() / 1e9


def naive_step(g, d, vgg, opt_g, opt_d, lr, hr):
    """One SRGAN phase-2 step written the seed projects' way."""
    sr = g(lr)
    content = 0.006 * F.mse_loss(vgg(sr)["relu5_4"], vgg(hr)["relu5_4"])  # HR features with autograd on
    adversarial = 1e-3 * F.binary_cross_entropy_with_logits(d(sr), torch.ones(sr.shape[0], 1, device=sr.device))
    opt_g.zero_grad()
    (content + adversarial).backward()  # D is not frozen: its weight gradients are computed too
    opt_g.step()
    real, fake = d(hr), d(sr.detach())
    d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--blocks", type=int, default=16)
    p.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers of the trainer's loop")
    p.add_argument("--compile", action="store_true", help="torch.compile the trainer's generator")
    p.add_argument("--channels-last", default="auto", choices=("auto", "on", "off"),
                   help="the trainer side's memory format (auto: as srgan-train, on for CUDA and the CPU)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train" / "sunhays80")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures to PATH as JSON")
    args = p.parse_args(argv)

    from trainer.device import resolve_device
    from trainer.train.setup import amp_dtype, use_channels_last

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    random.seed(0)
    weights = vgg_weights()
    print(f"device {device}, {torch.get_num_threads()} CPU threads, batch {args.batch}, {args.crop}x{args.crop} HR crops, "
          f"SRResNet B={args.blocks}, VGG19 weights: {weights}")
    lr_side = args.crop // 4
    lr_fixed = torch.rand(args.batch, 3, lr_side, lr_side, device=device)
    hr_fixed = torch.rand(args.batch, 3, args.crop, args.crop, device=device)
    # ---- naive: the seed projects' loop
    g = models.build("srresnet", num_blocks=args.blocks).to(device)
    d = models.build("srgan_d").to(device)
    vgg = VGGFeatures(("relu5_4",), weights=None if weights == "random" else weights).to(device)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-4), torch.optim.Adam(d.parameters(), 1e-4)
    naive_data = NaiveData(args.data, args.crop, 4, args.batch)

    # ---- trainer: GANStep as srgan-train runs it
    amp = amp_dtype("auto", device)
    cl = use_channels_last(args.channels_last, device)
    fmt = torch.channels_last if cl else torch.contiguous_format
    phase = PhaseConfig(name="gan", pixel=PixelLossConfig(weight=0.0),
                        content=ContentLossConfig(type="vgg", weight=0.006, vgg_weights=weights),
                        adversarial=AdversarialConfig(type="vanilla", weight=1e-3))
    tg = models.build("srresnet", num_blocks=args.blocks).to(device, memory_format=fmt)
    td = models.build("srgan_d").to(device, memory_format=fmt)
    content = ContentLoss(phase.content).to(device, memory_format=fmt)
    forward = torch.compile(tg) if args.compile else tg
    stepper = GANStep(phase, generator=tg, g_forward=forward, ema=ModelEMA(tg), device=device, amp_dtype=amp,
                      content=content, discriminator=td)
    lr_cl, hr_cl = lr_fixed.contiguous(memory_format=fmt), hr_fixed.contiguous(memory_format=fmt)
    cfg = DataConfig(train_dir=str(args.data), crop=args.crop, batch_size=args.batch, num_workers=args.workers)
    store = ImageStore(args.data, crop=args.crop, scale=4)
    loader = iter(make_loader(CropDataset(store, crop=args.crop, scale=4, seed=0), cfg, start_step=0, rank=0, world_size=1,
                              pin_memory=device.type == "cuda"))

    def naive_loop() -> float:
        t = time.perf_counter()
        lr, hr = naive_data()
        data = time.perf_counter() - t
        naive_step(g, d, vgg, opt_g, opt_d, lr.to(device), hr.to(device))
        return data

    def trainer_loop() -> float:
        t = time.perf_counter()
        batch = next(loader)
        hr = to_float(batch[0], device, cl)
        lr = degrade(hr, cfg, channels_last=cl)
        _sync(device)
        data = time.perf_counter() - t
        stepper(lr, hr)
        return data

    # Measurements alternate (naive, trainer, naive, ...) so that a machine whose load changes
    # during the run biases neither side.
    jobs = {
        "naive step": lambda: naive_step(g, d, vgg, opt_g, opt_d, lr_fixed, hr_fixed),
        "trainer step": lambda: stepper(lr_cl, hr_cl),
        "naive loop": naive_loop,
        "trainer loop": trainer_loop,
    }
    gflop: dict[str, float] = {}
    for name, job in jobs.items():
        for _ in range(args.warmup + (2 if args.compile and name.startswith("trainer") else 0)):
            job()
        if name.endswith("step") and not args.compile:  # counting needs eager ops; compile hides them
            gflop[name] = count_gflop(job)
    results: dict[str, list[float]] = {name: [] for name in jobs}
    data_share: dict[str, list[float]] = {"naive loop": [], "trainer loop": []}
    for _ in range(args.steps):
        for name, job in jobs.items():
            _sync(device)
            t = time.perf_counter()
            data = job()
            _sync(device)
            elapsed = time.perf_counter() - t
            results[name].append(elapsed)
            if name in data_share:
                data_share[name].append(data / elapsed)
    naive_data_share = statistics.median(data_share["naive loop"])
    trainer_data_share = statistics.median(data_share["trainer loop"])

    print(f"\n| measurement | s/step (median) | steps/s | GFLOP/step | GFLOP/s |")
    print("|---|---|---|---|---|")
    rate = {}
    for name, times in results.items():
        med = statistics.median(times)
        rate[name] = 1.0 / med
        work = f"{gflop[name]:.0f} | {gflop[name] / med:.0f}" if name in gflop else " | "
        print(f"| {name} | {med:.3f} | {rate[name]:.3f} | {work} |")
    print(f"\ntrainer/naive, step only: {rate['trainer step'] / rate['naive step']:.2f}x")
    if gflop:
        print(f"work ratio naive/trainer: {gflop['naive step'] / gflop['trainer step']:.2f}x "
              "(the step speed-up at equal GFLOP/s; the rest comes from faster kernels)")
    print(f"trainer/naive, whole loop: {rate['trainer loop'] / rate['naive loop']:.2f}x")
    print(f"data time share: trainer {100 * trainer_data_share:.1f}% of the step, naive {100 * naive_data_share:.1f}%")
    print(f"(precision {str(amp).removeprefix('torch.')}, {'channels-last' if cl else 'NCHW'}, compile={args.compile})")
    if args.json is not None:
        figures = {
            "device": str(device), "batch": args.batch, "crop": args.crop, "precision": str(amp).removeprefix("torch."),
            "channels_last": cl, "compile": args.compile, "vgg_weights": weights,
            "s_per_step": {name: statistics.median(times) for name, times in results.items()},
            "gflop_per_step": gflop,
            "step_speedup": rate["trainer step"] / rate["naive step"],
            "loop_speedup": rate["trainer loop"] / rate["naive loop"],
            "trainer_data_share": trainer_data_share, "naive_data_share": naive_data_share,
        }
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
