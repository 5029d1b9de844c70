"""``srgan-train``: train a super-resolution model from a recipe, headless.

    srgan-train --recipe quick --data ../shared/data/train/sunhays80 --out runs/quick
    srgan-train --recipe srgan --data DIR --set phases.pretrain.iterations=20000 --set runtime.threads=2
    srgan-train --resume runs/quick                  # continue from the newest checkpoint
    srgan-train --export-checkpoint runs/quick/checkpoints/best.pt --out quick_best.safetensors [--raw]
    srgan-train --list-runs [runs]                   # status, progress, best PSNR of each run folder
    torchrun --nproc_per_node=4 -m trainer.cli.train --recipe srresnet --data DIR   # DDP

Ctrl-C stops cleanly after the current step (checkpoint, and the current model exported); a second
Ctrl-C aborts. The run folder holds ``config.toml``, ``metrics.jsonl``, ``checkpoints/`` and the
exported ``*.safetensors`` model files with their ``*.md`` model cards.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from trainer.errors import one_line  # standard library only

# Before torch (and its OpenMP runtime) loads: idle OpenMP threads sleep instead of spinning. On a
# busy machine spinning threads wait on descheduled siblings: measured on 2 shared cores, the quick
# recipe ran at 0.3-0.5 steps/s with 2 spinning threads, 1.6-1.8 with passive ones (1.8-1.9 with 1 thread).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="srgan-train",
        description="Train a 4x super-resolution model (SRResNet, SRGAN, ...) from a recipe.",
        epilog="Recipes: srresnet, srgan, srgan-mse (no VGG), srgan-mixed, wdrn-wgan, srcnn, vdsr, quick (see --list-recipes). "
        "Any config field can be set with --set, e.g. --set data.crop=64 --set phases.0.iterations=5000 "
        "--set model.num_blocks=8 --set runtime.threads=2.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--recipe", help="shipped recipe name")
    src.add_argument("--config", type=Path, help="a TOML config file (as written into a run folder)")
    src.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest checkpoint")
    src.add_argument("--export-checkpoint", type=Path, metavar="CHECKPOINT",
                     help="write a checkpoint's generator (EMA weights unless --raw) as the model file --out, with its model card, and exit")
    src.add_argument("--list-runs", nargs="?", const=Path("runs"), type=Path, metavar="DIR",
                     help="list the runs in DIR (default ./runs): status, progress, best PSNR, resumable; and exit")
    p.add_argument("--data", type=Path, help="folder of HR training images (searched recursively)")
    p.add_argument("--out", type=Path, help="run folder (default runs/<recipe>-<date>-<time>); with --export-checkpoint the model file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: SRGAN_DEVICE or auto)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (runtime.threads)")
    p.add_argument("--summary-every", type=int, default=100, metavar="STEPS", help="one-line summary interval (default 100 steps)")
    p.add_argument("--raw", action="store_true", help="with --export-checkpoint: the raw generator instead of its EMA")
    p.add_argument("--list-recipes", action="store_true", help="list the recipes and exit")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as TOML and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (summaries only)")
    return p


def _resolve_config(args: argparse.Namespace):
    from trainer import config as cfgmod
    from trainer.train.layout import CONFIG_FILE

    if args.resume is not None:
        cfg_path = args.resume / CONFIG_FILE
        if not cfg_path.is_file():
            raise cfgmod.ConfigError("--resume", f"{cfg_path} not found: {args.resume} is not a run folder")
        config = cfgmod.load(cfg_path)
    elif args.config is not None:
        config = cfgmod.load(args.config)
    else:
        config = cfgmod.load_recipe(args.recipe or "")
    overrides = list(args.overrides)
    if args.data is not None:
        overrides.append(f"data.train_dir={_quote(str(args.data))}")
    if args.device:
        overrides.append(f"runtime.device={_quote(args.device)}")
    if args.threads is not None:
        overrides.append(f"runtime.threads={args.threads}")
    config = cfgmod.apply_overrides(config, overrides)
    if not config.data.train_dir:
        raise cfgmod.ConfigError("--data", "give the folder of training images (--data DIR)")
    return config


def _quote(text: str) -> str:
    import json

    return json.dumps(text)


def _say(msg: str) -> None:
    """Print a line now (flushed: the output is often a pipe or a log file)."""
    print(msg, flush=True)


def _fmt_losses(losses: dict[str, float]) -> str:
    keys = [k for k in ("g_total", "g_pixel", "g_content", "g_adversarial", "d_total") if k in losses]
    text = " ".join(f"{k}={losses[k]:.4g}" for k in keys)
    if "budget_mult" in losses:  # pixel.budget_db: how far under the reference the generator is, and the pixel weight's factor
        text += f" psnr_gap={losses['budget_gap_db']:.3f}dB pixel_x{losses['budget_mult']:.3g}"
    return text


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 done or stopped cleanly, 1 failed, 2 bad usage)."""
    args = _parser().parse_args(argv)
    from trainer import config as cfgmod

    if args.list_recipes:
        for name in cfgmod.list_recipes():
            print(f"{name:12s} {cfgmod.load_recipe(name).description}")
        return 0
    if args.export_checkpoint is not None:
        return _export(args.export_checkpoint, args.out, raw=args.raw)
    if args.list_runs is not None:
        return _list_runs(args.list_runs)
    if args.recipe is None and args.config is None and args.resume is None:
        print("srgan-train: error: give --recipe NAME, --config FILE or --resume RUN_DIR (see --list-recipes)", file=sys.stderr)
        return 2
    try:
        config = _resolve_config(args)
    except cfgmod.ConfigError as exc:
        print(f"srgan-train: error: {one_line(exc)}", file=sys.stderr)
        return 2
    if args.print_config:
        print(cfgmod.to_toml(config), end="")
        return 0
    run_dir = args.resume or args.out
    return _run(config, run_dir, resume=args.resume is not None, summary_every=args.summary_every, progress=not args.no_progress)


def _export(checkpoint: Path, output: Path | None, *, raw: bool) -> int:
    """``--export-checkpoint``: the one checkpoint export (``trainer.train.export.export_checkpoint``)."""
    if output is None:
        print("srgan-train: error: give the model file to write (--out NAME.safetensors)", file=sys.stderr)
        return 2
    from trainer.train.checkpoint import CheckpointError
    from trainer.train.export import export_checkpoint

    try:
        done = export_checkpoint(checkpoint, output, raw=raw)
    except (CheckpointError, OSError) as exc:
        print(f"srgan-train: error: {one_line(exc)}", file=sys.stderr)
        return 1
    _say(f"exported {done.path} (step {done.step}, {'EMA' if done.ema else 'raw'} weights; model card {done.card.name})")
    return 0


def _list_runs(root: Path) -> int:
    """``--list-runs``: the runs list of the app's Training runs dock (``trainer.train.support.runs``)."""
    from trainer.train.support.runs import STATUS_TEXT, list_runs

    runs = list_runs(root)
    if not runs:
        _say(f"no runs in {root}")
    for run in runs:
        best = f", best PSNR {run.best_psnr:.2f} dB" if run.best_psnr is not None else ""
        resume = f"; resume with --resume {run.path}" if run.resumable else ""
        status = STATUS_TEXT.get(run.status, run.status).split(" · ")[0]  # "; resume with" says the rest
        _say(f"{run.name}: {status}, step {run.step}/{run.total_steps}{best}{resume}")
    return 0


def _run(config, run_dir, *, resume: bool, summary_every: int, progress: bool) -> int:
    from tqdm import tqdm

    from trainer.train import TrainingControl, train
    from trainer.train import events as ev

    main_rank = int(os.environ.get("RANK", "0")) == 0
    control = TrainingControl()
    presses = 0

    def on_sigint(signum, frame):  # first Ctrl-C (or SIGTERM): clean stop; second: abort
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        control.stop()
        if main_rank:
            print("\nsrgan-train: stopping after this step (checkpoint + export); Ctrl-C again to abort", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    # SIGTERM (kill, systemd, a cluster's scheduler) stops as cleanly as the first Ctrl-C: checkpoint + export.
    previous_term = signal.signal(signal.SIGTERM, on_sigint)
    bar = None
    out = (lambda msg: tqdm.write(msg)) if progress else _say
    last_summary = 0
    status = 1
    try:
        for event in train(config, run_dir, control=control, resume=resume):
            if not main_rank:
                if isinstance(event, ev.Error):
                    print(f"srgan-train (rank {os.environ.get('RANK')}): {event.message}", file=sys.stderr)
                    return 1
                continue
            if isinstance(event, ev.RunStarted):
                out(f"run {event.run_dir}: recipe {event.recipe}, {event.train_images} training images, "
                    f"{event.val_images} validation images, {event.device}, {event.precision}"
                    + (f", {event.world_size} processes" if event.world_size > 1 else "")
                    + (f", resumed at step {event.start_step}" if event.resumed else ""))
                if progress:
                    bar = tqdm(total=event.total_steps, initial=event.start_step, unit="step", dynamic_ncols=True)
                    out = lambda msg: tqdm.write(msg)  # noqa: E731
            elif isinstance(event, ev.PhaseChanged):
                out(f"phase {event.name}: steps {event.start_step}..{event.end_step}, adversarial={event.adversarial}")
            elif isinstance(event, ev.TrainStep):
                if bar is not None:
                    bar.update(event.step - bar.n)
                    bar.set_postfix_str(f"{_fmt_losses(event.losses)} {event.steps_per_second:.2f} it/s", refresh=False)
                if event.step - last_summary >= summary_every or event.step == event.total_steps:
                    last_summary = event.step
                    out(f"step {event.step}/{event.total_steps} [{event.phase}] {_fmt_losses(event.losses)} "
                        f"lr={event.lr:.3g} {event.steps_per_second:.2f} steps/s data {100 * event.data_fraction:.0f}%"
                        + (f" skipped={event.skipped}" if event.skipped else ""))
            elif isinstance(event, ev.Validation):
                niqe = f" NIQE {event.niqe:.3f} (HR {event.hr_niqe:.3f})" if event.niqe is not None and event.hr_niqe is not None else ""
                out(f"step {event.step}: {event.dataset} PSNR {event.psnr:.2f} dB SSIM {event.ssim:.4f}{niqe} "
                    f"(bicubic {event.bicubic_psnr:.2f} / {event.bicubic_ssim:.4f}){' best' if event.is_best else ''}")
                if event.blend is not None:
                    b = event.blend
                    b_niqe = f" NIQE {b.niqe:.3f}" if b.niqe is not None else ""
                    out(f"step {event.step}: {event.dataset} as shipped ({b.label}): PSNR {b.psnr:.2f} dB SSIM {b.ssim:.4f}{b_niqe}")
            elif isinstance(event, ev.CheckpointSaved):
                if event.reason != "interval":
                    out(f"checkpoint ({event.reason}): {event.path}")
            elif isinstance(event, ev.ModelExported):
                out(f"exported {event.path} (model card {Path(event.card).name})")
            elif isinstance(event, ev.Notice):
                out(f"{event.level}: {event.message}")
            elif isinstance(event, ev.Paused):
                out(f"paused at step {event.step}")
            elif isinstance(event, ev.Error):
                if bar is not None:
                    bar.close()
                print(f"srgan-train: error: {one_line(event.message)}", file=sys.stderr)
                return 1
            elif isinstance(event, ev.Finished):
                if bar is not None:
                    bar.close()
                    bar = None
                what = "stopped" if event.stopped else "finished"
                best = f", best PSNR {event.best_psnr:.2f} dB" if event.best_psnr is not None else ""
                _say(f"{what} at step {event.step}/{event.total_steps} in {event.seconds / 60:.1f} min{best}; run folder {event.run_dir}")
                for path in event.exported:
                    _say(f"model: {path}")
                status = 0
        return status
    except KeyboardInterrupt:
        print("srgan-train: aborted", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


if __name__ == "__main__":
    raise SystemExit(main())
