"""Phase c: train the plan's models at full speed, each under its time budget, and return them.

Per run (:class:`gpu.plan.RunSpec`): resolve the starting weights, probe the speed (and the batch,
for pixel-loss runs), set iterations and ``time_limit_s`` from the run's share of the phase, train
with ``trainer.train.train`` (autocast bf16/fp16 and channels-last are the trainer's GPU defaults;
cuDNN autotuning on; ``torch.compile`` only when it pays, see :func:`_compile`), then export:

* ``NAME.safetensors``: the EMA generator in fp16, with its Set5 figures measured on that file
  (and the starting model's, for comparison) in its metadata;
* ``NAME_stepK.safetensors`` (``series``): the EMA of intermediate checkpoints, fp16, with Set5;
* ``NAME_continue.pt``: what continuing on the CPU needs, in the checkpoint format
  (``scripts/export_checkpoint.py`` reads it): generator and EMA in fp32, the discriminator in fp16
  when it is small enough to travel; no optimiser or RNG state (a continued run restarts Adam);
* the run's ``config.toml``, ``metrics.jsonl`` and model card.

They go back as ``NAME.zip`` (``gpu.pack``), written as soon as the run ends, so a run cut off
later still returns the models finished before.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from gpu import report as R
from gpu.context import Context
from gpu.pack import Member
from gpu.plan import RunSpec, describe, load_plan, smoke_overrides
from gpu.probe import GPU_BATCHES, SMOKE_BATCHES, pick_batch, step_seconds

OVERHEAD_S = 15.0  # per run on a GPU: data decode, validation, export, checkpoint, packing
SERIES_S = 1.5  # per exported intermediate checkpoint
MAX_D_BYTES = 4 << 20  # a discriminator travels back when its fp16 weights are at most this big
COMPILE_MIN_S = 600.0  # compiling SRResNet's step takes a minute or more: worth it only for long runs


def run(ctx: Context) -> None:
    """Every run of the plan, in order, each with its share of the phase."""
    torch.backends.cudnn.benchmark = True  # fixed crop sizes: autotuned kernels pay for themselves
    plan = load_plan(ctx.options.get("plan"), ctx.options.get("sets", []))
    ctx.reporter.write("c", "plan", R.INFO, ", ".join(r.name for r in plan), {"runs": describe(plan)})
    exported: dict[str, dict[str, Any]] = {}  # name -> {"path", "set5"} of this phase's exports
    for i, spec in enumerate(plan):
        later = sum(r.share for r in plan[i:])
        seconds = max(0.0, ctx.left()) * spec.share / later
        with ctx.reporter.check("c", spec.name) as rec:
            _one(ctx, spec, seconds, exported, rec)


def _shipped(ctx: Context, name: str) -> Path:
    return ctx.repo / "resources" / "models" / f"{name}.safetensors"


def _set5(path: Path, ctx: Context) -> dict[str, Any]:
    """Protocol Set5 figures of a model file (as loaded: fp16 files run in fp32 after loading)."""
    from trainer.evaluation import evaluate_set, model_upscale_fn
    from trainer.modelfile import load_model

    res = evaluate_set(ctx.data / "benchmarks" / "Set5", model_upscale_fn(load_model(path), ctx.device), scale=4)
    return {"psnr": res.psnr, "ssim": res.ssim, "per_image": {r.name: round(r.psnr, 4) for r in res.per_image}}


def _init(ctx: Context, spec: RunSpec, cfg, exported: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """(model file, why) for the run's starting weights: the first candidate of ``spec.init`` that
    exists and has the config's architecture; ``run:NAME`` only where it beats ``shipped:NAME``."""
    from trainer.modelfile import read_metadata

    want = {"arch": cfg.model.arch, "hparams": {**cfg.model.hparams, "scale": cfg.data.scale}}
    for cand in spec.init:
        kind, _, name = cand.partition(":")
        if kind == "run":
            if name not in exported:
                continue
            ship = _shipped(ctx, name)
            mine = exported[name]["set5"]["psnr"]
            theirs = (read_metadata(ship).get("metrics", {}).get("Set5", {}).get("psnr") if ship.is_file() else None)
            if theirs is not None and _matches(ship, want) and mine < theirs:
                continue  # this run's model is worse than the shipped one: start from the shipped one
            return str(exported[name]["path"]), f"{cand} (Set5 {mine:.2f} dB)"
        path = _shipped(ctx, name) if kind == "shipped" else Path(cand)
        if path.is_file() and _matches(path, want):
            return str(path), cand
    return "", "from scratch (no usable starting weights)"


def _matches(path: Path, want: dict[str, Any]) -> bool:
    """Whether the model file at ``path`` can start the run (``model.init_weights``): the same
    network, or a pixel-shuffle one for a resize-conv run (the trainer fits the upsampler)."""
    from trainer.modelfile import read_metadata
    from trainer.train.setup import init_compatible

    meta = read_metadata(path)
    hp = {**meta.get("hparams", {}), "scale": meta.get("scale", meta.get("hparams", {}).get("scale"))}
    return init_compatible(str(meta.get("arch")), hp, want["arch"], want["hparams"])


def _same_network(path: Path, cfg) -> bool:
    """Whether the model file at ``path`` is exactly the run's generator network (a blend needs that)."""
    from trainer.models.registry import full_hparams
    from trainer.modelfile import read_metadata

    meta = read_metadata(path)
    arch = cfg.model.arch
    mine = full_hparams(arch, {"scale": cfg.data.scale, **cfg.model.hparams})
    return meta.get("arch") == arch and full_hparams(arch, {**meta.get("hparams", {}), "scale": cfg.data.scale}) == mine


def _config(ctx: Context, spec: RunSpec, exported: dict[str, dict[str, Any]], end: float, rec: R.Record):
    """The run's TrainingConfig: recipe + plan overrides + data, device, schedule from the probe;
    the run (export and packing included) should be over at ``end`` (time.monotonic())."""
    from trainer import config as C

    base = {**spec.overrides, **(smoke_overrides(spec) if ctx.smoke else {}),
            "data.train_dir": str(ctx.data / "train"), "data.val_dir": "auto", "runtime.device": str(ctx.device),
            "data.num_workers": 0 if ctx.smoke or not ctx.cuda else 4, "runtime.checkpoint_interval": 0}
    cfg = C.apply_overrides(C.load_recipe(spec.recipe), base)
    last = max(i for i, p in enumerate(cfg.phases) if p.iterations > 0)
    key = f"phases.{last}"
    if spec.after:
        # a continuation: the earlier run's generator, and its discriminator for a GAN phase
        init, why = str(exported[spec.after]["path"]), f"after:{spec.after}"
        if cfg.phases[last].is_gan:
            cfg = C.apply_overrides(cfg, {f"{key}.discriminator.init_weights": str(exported[spec.after]["continue"])})
    else:
        init, why = _init(ctx, spec, cfg, exported)
    batch, lr = cfg.data.batch_size, spec.base_lr
    if spec.scale_batch:
        batch, lr, rates = pick_batch(cfg, ctx.device, spec.base_lr, SMOKE_BATCHES if ctx.smoke else GPU_BATCHES)
        rec.figures["samples_per_s_by_batch"] = rates
    cfg = C.apply_overrides(cfg, {"data.batch_size": batch, f"{key}.optimizer.lr": lr, f"{key}.export": spec.name})
    if cfg.phases[last].is_gan:
        cfg = C.apply_overrides(cfg, {f"{key}.discriminator.optimizer.lr": spec.base_lr})
    t = step_seconds(cfg, ctx.device, steps=2 if ctx.smoke else 6)
    per_step = t["step"] + t["degrade"]
    train_s = max(10.0, end - time.monotonic() - OVERHEAD_S - SERIES_S * spec.series)  # the probes took their share
    iterations = 3 if ctx.smoke else max(10, int(0.92 * train_s / per_step))
    val = max(1, iterations // 4)
    cfg = C.apply_overrides(cfg, {
        "model.init_weights": init, f"{key}.iterations": iterations, f"{key}.time_limit_s": 0.0 if ctx.smoke else train_s,
        "runtime.val_interval": val, "runtime.checkpoint_interval": 0,
        # every requested save (series) and every best validation keeps its checkpoint
        "runtime.keep_last": spec.series + 8, "runtime.compile": _compile(ctx, train_s, rec),
    })
    if cfg.runtime.val_blend == "@init":
        # The deployed form (runtime.val_blend) is blended with the network the GAN starts from: only
        # where that is the generator's own network (not a pixel-shuffle file a resize-conv run was fitted from).
        blend = init if init and _same_network(Path(init), cfg) else ""
        cfg = C.apply_overrides(cfg, {"runtime.val_blend": blend, **({} if blend else {"runtime.val_blend_notch": 0.0})})
        rec.figures["val_blend"] = blend or "none (the starting weights are another network)"
    rec.figures.update({"init": why, "batch": batch, "lr": lr, "iterations_planned": iterations, "train_s": train_s,
                        "probe_s_per_step": per_step, "probe_degrade_s": t["degrade"], "precision": cfg.runtime.precision})
    return cfg, init


def _compile(ctx: Context, train_s: float, rec: R.Record) -> bool:
    """``torch.compile`` the generator only when the run is long enough to win back the compile
    time (``--compile on|off`` decides instead)."""
    choice = ctx.options.get("compile", "auto")
    on = ctx.cuda and (choice == "on" or (choice == "auto" and train_s >= COMPILE_MIN_S))
    rec.figures["compile"] = f"{on} ({choice}; {'long' if train_s >= COMPILE_MIN_S else 'short'} run of {train_s:.0f} s)"
    return on


def series_steps(iterations: int, series: int) -> list[int]:
    """Steps at which a GAN run saves the checkpoints it returns: 1/2, 1/4, 1/8... of the run
    (doubling gaps: a GAN's useful range may be its first few hundred steps, as on the CPU)."""
    return sorted({max(1, iterations >> k) for k in range(1, series + 1)} - {iterations})


def _train(ctx: Context, cfg, run_dir: Path, deadline: float, save_at: list[int], rec: R.Record) -> tuple[Any, list[int]]:
    """Iterate the run, logging a few lines; ask for checkpoints at ``save_at``; stop it
    (checkpoint + export) past ``deadline``. Returns Finished and the steps saved on request."""
    from trainer.train import TrainingControl, train

    control = TrainingControl()
    rates, data, saved, vals = [], [], [], []
    pending = list(save_at)
    finished, budget = None, {}
    total = cfg.total_steps
    for ev in train(cfg, run_dir, control=control):
        name = type(ev).__name__
        if name == "TrainStep":
            # the PSNR budget's state (pixel.budget_db) as of the last step: kept with each validation
            budget = {k: ev.losses[k] for k in ("budget_gap_db", "budget_mult") if k in ev.losses}
            if ev.step > cfg.runtime.log_interval:  # the first interval holds the warm-up
                rates.append(ev.steps_per_second)
                data.append(ev.data_fraction)
            if ev.step % max(1, total // 5) < cfg.runtime.log_interval:
                losses = " ".join(f"{k}={v:.4g}" for k, v in ev.losses.items()
                                  if k in ("g_total", "g_adversarial", "d_total", "budget_gap_db", "budget_mult"))
                ctx.log(f"  step {ev.step}/{total} {losses} {ev.steps_per_second:.2f} steps/s data {100 * ev.data_fraction:.0f}%")
            if pending and ev.step >= pending[0]:
                control.save_now()  # written before the next step: this step's weights
                while pending and ev.step >= pending[0]:
                    pending.pop(0)
            if time.monotonic() > deadline:
                control.stop()
        elif name == "CheckpointSaved" and ev.reason == "request":
            saved.append(ev.step)
        elif name == "Validation":
            shipped = f"; as shipped {ev.blend.psnr:.3f} dB" if ev.blend is not None else ""
            ctx.log(f"  step {ev.step}: {ev.dataset} PSNR {ev.psnr:.3f} dB SSIM {ev.ssim:.4f}{shipped}")
            vals.append({"step": ev.step, "psnr": ev.psnr, "niqe": ev.niqe, **budget,
                         **({"blend_psnr": ev.blend.psnr, "blend_niqe": ev.blend.niqe} if ev.blend is not None else {})})
        elif name == "Notice":
            ctx.log(f"  {ev.level}: {ev.message}")
        elif name == "Error":
            raise RuntimeError(f"training failed: {ev.message}\n{ev.traceback[-1500:]}")
        elif name == "Finished":
            finished = ev
    rec.figures.update({"steps": finished.step, "seconds": finished.seconds, "stopped": finished.stopped,
                        "steps_per_s": statistics.median(rates) if rates else None,
                        "samples_per_s": statistics.median(rates) * cfg.data.batch_size if rates else None,
                        "data_fraction": statistics.median(data) if data else None, "best_psnr": finished.best_psnr,
                        "validations": vals})
    return finished, saved


def _fp16(src: Path, dst: Path, ctx: Context, extra: dict[str, Any]) -> dict[str, Any]:
    """Store ``src`` in fp16 at ``dst`` with its Set5 figures measured on the fp16 file."""
    from trainer.modelfile import RESERVED_KEYS, load_model, save_model

    model = load_model(src)
    meta = {k: v for k, v in model.metadata.items() if k not in RESERVED_KEYS and k != "created"}
    meta.update(extra)
    save_model(model, dst, metadata=meta, dtype=torch.float16)
    set5 = _set5(dst, ctx)
    meta["set5_fp16"] = set5
    save_model(model, dst, metadata=meta, dtype=torch.float16)
    return set5


def _continue_file(state: dict[str, Any], dst: Path) -> dict[str, Any]:
    """The slim checkpoint for continuing on the CPU (see the module docstring)."""
    d = state.get("discriminator")
    # fp16 halves it (the U-Net discriminator of srgan-dfm: 2.2 MB) so that generator + EMA (fp32) + D stay
    # under one 16 MiB returned file; a continued run casts it back to fp32.
    d = {k: (t.half() if t.is_floating_point() else t) for k, t in d.items()} if d else None
    d_bytes = sum(t.numel() * t.element_size() for t in d.values() if t.is_floating_point()) if d else 0
    keep = d is not None and d_bytes <= MAX_D_BYTES
    slim = {k: state[k] for k in ("version", "step", "phase", "phase_start", "phase_done", "config", "generator", "ema", "metrics")
            if k in state}
    slim.update({"discriminator": d if keep else None, "slim": "no optimiser, scaler or RNG state: continue with "
                 "scripts/export_checkpoint.py (EMA or --raw) and model.init_weights"})
    torch.save(slim, dst)
    return {"discriminator": "included (fp16)" if keep else (f"left out ({d_bytes / 2**20:.0f} MiB fp16)" if d else "none")}


def _one(ctx: Context, spec: RunSpec, seconds: float, exported: dict[str, dict[str, Any]], rec: R.Record) -> None:
    from trainer.train.checkpoint import list_checkpoints, load_checkpoint

    start = time.monotonic()
    if not ctx.enough(OVERHEAD_S + 20):
        rec.skip(R.NO_BUDGET, f"{ctx.left():.0f} s left in phase c")
        return
    if spec.after and spec.after not in exported:
        rec.skip(R.NOT_AVAILABLE, f"continues {spec.after}, which did not finish")
        return
    cfg, init = _config(ctx, spec, exported, start + seconds, rec)
    run_dir = ctx.work / "runs" / spec.name
    shutil.rmtree(run_dir, ignore_errors=True)
    # Backstop for a slow start (the phase's time_limit_s counts from its first step): stop with
    # half the export overhead still in hand.
    save_at = series_steps(cfg.total_steps, spec.series) if spec.series else []
    finished, saved = _train(ctx, cfg, run_dir, start + seconds - OVERHEAD_S / 2 - SERIES_S * spec.series, save_at, rec)
    out = ctx.work / "returns" / spec.name
    out.mkdir(parents=True, exist_ok=True)
    info = {"gpu_run": {"device": str(ctx.device), "gpu": torch.cuda.get_device_name(ctx.device) if ctx.cuda else "cpu",
                        "steps": finished.step, "seconds": round(finished.seconds, 1), "batch": cfg.data.batch_size,
                        "init": rec.figures["init"], "samples_per_s": rec.figures.get("samples_per_s")}}
    model = out / f"{spec.name}.safetensors"
    set5 = _fp16(Path(finished.exported[-1]), model, ctx, info)
    exported[spec.name] = {"path": model, "set5": set5}
    rec.figures["set5_fp16"] = {"psnr": set5["psnr"], "ssim": set5["ssim"]}
    if init:
        rec.figures["set5_start"] = {k: v for k, v in _set5(Path(init), ctx).items() if k != "per_image"}
    members = [Member(model, model.name, 0)]
    for name in ("config.toml", "metrics.jsonl", f"{spec.name}.md"):
        if (run_dir / name).is_file():
            members.append(Member(run_dir / name, name, 0))
    checkpoints = list_checkpoints(run_dir)
    state = load_checkpoint(checkpoints[-1][1])
    rec.figures.update(_continue_file(state, out / f"{spec.name}_continue.pt"))
    exported[spec.name]["continue"] = out / f"{spec.name}_continue.pt"  # for a run ``after`` this one
    members.append(Member(out / f"{spec.name}_continue.pt", f"{spec.name}_continue.pt", 1))
    series = _series(ctx, spec, [(k, p) for k, p in checkpoints if k in saved], out, info) if saved else {}
    members += [Member(p, p.name, 2) for p in series]
    rec.figures["series_set5"] = {p.name: round(v, 3) for p, v in series.items()}
    files, dropped = ctx.returns.pack(spec.name, members)
    rec.figures.update({"returned": [f.name for f in files], "dropped": dropped})
    start_psnr = rec.figures.get("set5_start", {}).get("psnr")
    gain = f" (start {start_psnr:.3f})" if start_psnr is not None else ""
    rec.verdict(True, f"{finished.step} steps in {finished.seconds:.0f} s, Set5 {set5['psnr']:.3f} dB fp16{gain}")


def _series(ctx: Context, spec: RunSpec, checkpoints: list, out: Path, info: dict[str, Any]) -> dict[Path, float]:
    """Export the EMA of the checkpoints saved for the series in fp16 with their Set5."""
    from trainer import models
    from trainer.config import TrainingConfig, from_dict
    from trainer.modelfile import save_model
    from trainer.train.checkpoint import load_checkpoint

    found: dict[Path, float] = {}
    for step, path in checkpoints:
        if not ctx.enough(SERIES_S):
            break
        state = load_checkpoint(path)
        cfg = from_dict(state["config"], TrainingConfig)
        model = models.build(cfg.model.arch, scale=cfg.data.scale, **cfg.model.hparams)
        model.load_state_dict(state["ema"]["module"])
        tmp = ctx.work / "series_tmp.safetensors"
        save_model(models.describe(model, cfg.model.arch, {"scale": cfg.data.scale, **cfg.model.hparams}), tmp,
                   metadata={"recipe": cfg.recipe, "config": state["config"], "steps": int(step),
                             "metrics": state.get("metrics") or {}, "ema": True, "complete": False, **info})
        dst = out / f"{spec.name}_step{int(step)}.safetensors"
        found[dst] = _fp16(tmp, dst, ctx, {"exported_from": path.name})["psnr"]
    return found
