"""The training loop: ``train(config) -> Iterator[Event]``.

The run is a generator. Each ``yield`` sits between optimisation steps; there the loop also checks
the :class:`TrainingControl` (pause, stop, save now). A stop writes a checkpoint (and, by default,
exports the current EMA model) and ends with :class:`Finished` (``stopped=True``). Failures end with
an :class:`Error` event (the generator then returns); :func:`run_training` turns that into an
exception for callers that prefer one.

Order of a step: next batch (timed as data time) -> LR made on the device -> generator step ->
discriminator step -> EMA update; then, at their intervals, a log event, validation and a
checkpoint. A phase ends with validation, export and a checkpoint marked ``phase_done``.
"""

from __future__ import annotations

import gc
import random
import time
import traceback
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.config import TrainingConfig, save as save_config, to_dict, validate
from trainer.train import checkpoint as ckpt
from trainer.train import distributed
from trainer.train.budget import PixelBudget, budget_references, start_reference
from trainer.train.data import CropDataset, ImageStore, degrade, make_loader, to_float
from trainer.train.ema import ModelEMA
from trainer.train.events import (
    BlendValidation,
    CheckpointSaved,
    Error,
    Event,
    Finished,
    ModelExported,
    Notice,
    Paused,
    PhaseChanged,
    Resumed,
    RunStarted,
    TrainingControl,
    TrainStep,
    Validation,
)
from trainer.train.export import export_model, export_name
from trainer.train.layout import CONFIG_FILE
from trainer.train.losses import RANDOM_VGG_WARNING
from trainer.train.runlog import RunLog
from trainer.train.setup import (
    amp_dtype,
    build_content_losses,
    build_discriminator,
    build_generator,
    default_run_dir,
    describe_device,
    describe_generator,
    resolve_val_dir,
    set_threads,
    use_channels_last,
)
from trainer.train.step import GANStep

CHECKPOINT_VERSION = 1


class TrainingFailed(RuntimeError):
    """Raised by :func:`run_training` with the :class:`Error` event of a failed run."""

    def __init__(self, error: Error) -> None:
        self.error = error
        super().__init__(error.message)


def train(
    config: TrainingConfig,
    run_dir: str | Path | None = None,
    *,
    control: TrainingControl | None = None,
    resume: bool = False,
) -> Iterator[Event]:
    """Train per ``config``, writing into ``run_dir``; yields events until Finished or Error.

    ``resume=True`` continues from the newest usable checkpoint in ``run_dir``. Under torchrun the
    same call trains with DDP (see :mod:`trainer.train.distributed`).
    """
    run = _Run(config, run_dir, control or TrainingControl(), resume)
    try:
        yield from run.events()
    except Exception as exc:  # noqa: BLE001 - every failure becomes an Error event for the UI
        error = Error(message=str(exc) or type(exc).__name__, exc_type=type(exc).__name__, step=run.step,
                      traceback=traceback.format_exc())
        run.log_event(error)
        yield error
    finally:
        run.close()


def run_training(config: TrainingConfig, run_dir: str | Path | None = None, **kwargs: Any) -> Finished:
    """Blocking form of :func:`train`: the :class:`Finished` event, or :class:`TrainingFailed`."""
    finished = None
    for event in train(config, run_dir, **kwargs):
        if isinstance(event, Error):
            raise TrainingFailed(event)
        if isinstance(event, Finished):
            finished = event
    assert finished is not None
    return finished


class _Run:
    """State of one run (kept in one object so the generator body reads top to bottom)."""

    def __init__(self, config: TrainingConfig, run_dir: str | Path | None, control: TrainingControl, resume: bool) -> None:
        self.config = validate(config)
        self.run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
        self.control = control
        self.resume = resume
        self.step = 0
        self.log: RunLog | None = None
        self.dist = distributed.DistInfo()

    def log_event(self, event: Any) -> None:
        if self.log is not None:
            self.log.write(event)

    def _emit(self, event: Any) -> Any:
        self.log_event(event)
        return event

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.dist.enabled:
            # The DDP wrappers hold the process group and its reducers; dropping them first lets
            # their gloo work finish while the group still exists, instead of at interpreter exit.
            self.g_forward, self.d_forward = None, {}
            gc.collect()
            distributed.teardown()

    # ------------------------------------------------------------------ setup

    def _setup(self) -> Iterator[Event]:
        from trainer.device import resolve_device

        cfg, rt = self.config, self.config.runtime
        self.dist, self.device = distributed.setup(resolve_device(rt.device))
        set_threads(rt.threads, self.dist.world_size)
        self.main = self.dist.is_main
        self.amp = amp_dtype(rt.precision, self.device)
        self.channels_last = use_channels_last(rt.channels_last, self.device)
        random.seed(rt.seed)
        np.random.seed(rt.seed)
        torch.manual_seed(rt.seed)

        state = None
        if self.resume:
            path, state, problems = ckpt.load_latest(self.run_dir)
            for p in problems:
                yield self._notice(f"skipped an unusable checkpoint: {p}")
            self._check_compatible(state, path)
        elif self.main and ckpt.list_checkpoints(self.run_dir):
            raise FileExistsError(f"{self.run_dir} already holds a training run; resume it (--resume) or choose another --out")
        self.state = state
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir / CONFIG_FILE)
            # A resumed run redoes the steps after its checkpoint: their old records go.
            self.log = RunLog(self.run_dir, keep_until=int(state["step"]) if state else None)

        data = cfg.data
        self.store = ImageStore(data.train_dir, crop=data.crop, scale=data.scale, cache_mb=data.cache_mb, lr_folder=data.lr_dir,
                                holdout=data.holdout)
        for w in self.store.warnings:
            yield self._notice(w)
        val_dir = resolve_val_dir(cfg)
        self.validator = None
        if self.main and (val_dir is not None or self.store.holdout_files):
            from trainer.train.validation import Validator
            from trainer.webdegrade import parse_degradation

            held = self.store.holdout_files or None
            self.validator = Validator(val_dir or data.train_dir, scale=data.scale, max_images=data.val_max_images,
                                       sample_size=data.sample_size, files=held, name="holdout" if held else "",
                                       niqe=rt.val_niqe, degradation=parse_degradation(data.val_degradation))
        self.contents = build_content_losses(cfg)  # refuses to start without the VGG weights
        if any(p.content.type == "vgg" and p.content.vgg_weights == "random" for p in cfg.phases):
            yield self._notice(RANDOM_VGG_WARNING)
        self.discriminators = {i: build_discriminator(cfg, i) for i, p in enumerate(cfg.phases) if p.is_gan}
        self.generator = build_generator(cfg)
        self.deployed = None
        if self.validator is not None and rt.val_blend:
            from trainer.train.deployed import DeployedForm

            self.deployed = DeployedForm.from_config(cfg, describe_generator(cfg, self.generator), self.device)
        fmt = torch.channels_last if self.channels_last else torch.preserve_format
        self.budget_refs = budget_references(cfg, describe_generator(cfg, self.generator), self.device, fmt)
        self.generator.to(self.device, memory_format=fmt)
        for c in self.contents.values():
            c.to(self.device, memory_format=fmt)
        for d in self.discriminators.values():
            d.to(self.device, memory_format=fmt)
        self.ema = ModelEMA(self.generator, rt.ema_decay)
        self.g_forward = distributed.wrap(self.generator, self.dist, self.device)
        if rt.compile:
            self.g_forward = torch.compile(self.g_forward)
        self.d_forward = {i: distributed.wrap(d, self.dist, self.device) for i, d in self.discriminators.items()}

        dataset = CropDataset(self.store, crop=data.crop, scale=data.scale, seed=rt.seed, flips=data.flips, rotations=data.rotations)
        self.paired = dataset.paired
        self.dataset = dataset

    def _budget(self, phase_idx: int) -> PixelBudget | None:
        """A fresh multiplier for the phase (a resumed one gets its state from the checkpoint)."""
        pixel = self.config.phases[phase_idx].pixel
        if pixel.budget_db <= 0:
            return None
        ref = self.budget_refs.get(phase_idx)
        keep = ref is None  # "@start": the generator as the phase starts (a new phase's, loaded just before)
        return PixelBudget(start_reference(self.generator) if keep else ref, pixel.budget_db, pixel.budget_rate,
                           mean=distributed.make_mean(self.dist), keep_reference=keep, batch_stats=pixel.budget_batch_stats)

    def _check_compatible(self, state: dict[str, Any], path: Path) -> None:
        saved = state.get("config", {})
        now = to_dict(self.config)
        for key in ("model", "data"):
            old, new = saved.get(key, {}), now[key]
            fields = ("arch", "hparams") if key == "model" else ("scale", "batch_size", "crop")
            for f in fields:
                if old.get(f) != new.get(f):
                    raise ckpt.CheckpointError(path, f"the checkpoint was made with {key}.{f} = {old.get(f)!r}, the config now says {new.get(f)!r}")
        if len(saved.get("phases", [])) != len(now["phases"]):
            raise ckpt.CheckpointError(path, f"the checkpoint's config has {len(saved.get('phases', []))} phases, this one {len(now['phases'])}")

    def _notice(self, message: str, level: str = "warning") -> Notice:
        return self._emit(Notice(message, level))

    # ------------------------------------------------------------------ checkpoints, validation, export

    def _checkpoint(self, stepper: GANStep, phase_idx: int, phase_start: int, phase_done: bool, best: bool, reason: str) -> CheckpointSaved | None:
        rngs = distributed.gather(ckpt.capture_rng(), self.dist)
        if not self.main:
            return None
        d = self.discriminators.get(phase_idx)
        state = {
            "version": CHECKPOINT_VERSION,
            "step": self.step,
            "phase": phase_idx,
            "phase_start": phase_start,
            "phase_done": phase_done,
            "phase_elapsed": self.phase_elapsed(),
            "elapsed": self.elapsed(),
            # What a card exported from this checkpoint says the model was trained on and with.
            "device": describe_device(self.device),
            "trained_on": self._trained_on(),
            "config": to_dict(self.config),
            "generator": self.generator.state_dict(),
            "ema": self.ema.state_dict(),
            "discriminator": d.state_dict() if d is not None else None,
            "stepper": stepper.state_dict(),
            "data": {"next_step": self.step, "batch_size": self.config.data.batch_size, "world_size": self.dist.world_size},
            "rng": rngs,
            "best_psnr": self.best_psnr,
            "metrics": self.last_metrics,
            "world_size": self.dist.world_size,
        }
        path = ckpt.save_checkpoint(self.run_dir, state, self.step, keep_last=self.config.runtime.keep_last, best=best)
        self.last_checkpoint = str(path)
        return self._emit(CheckpointSaved(self.step, str(path), best, reason))

    def _validate(self, phase_name: str) -> Validation | None:
        if self.validator is None:
            return None
        psnr, ssim, per_image, samples, seconds = self.validator.run(self.ema.module, self.device)
        is_best = self.best_psnr is None or psnr > self.best_psnr
        if is_best:
            self.best_psnr = psnr
        v = self.validator
        niqe, dot_lattice = v.last_niqe, v.last_dot_lattice
        self.last_metrics = {"dataset": v.name, "psnr": psnr, "ssim": ssim, "bicubic_psnr": v.bicubic_psnr,
                             "bicubic_ssim": v.bicubic_ssim, "images": len(v), "step": self.step}
        if v.niqe:
            self.last_metrics["niqe"] = niqe
        if dot_lattice is not None:
            self.last_metrics["dot_lattice"] = dot_lattice
        blend = None
        if self.deployed is not None:
            # The form that ships (runtime.val_blend), measured on the same images; best_psnr stays the raw EMA's.
            b_psnr, b_ssim, *_ = v.run(self.deployed.build(describe_generator(self.config, self.ema.module)), self.device)
            blend = BlendValidation(self.deployed.label(), b_psnr, b_ssim, v.last_niqe)
            self.last_metrics.update({"blend": blend.label, "blend_psnr": b_psnr, "blend_ssim": b_ssim})
            if v.niqe:
                self.last_metrics["blend_niqe"] = v.last_niqe
            v.last_niqe, v.last_dot_lattice = niqe, dot_lattice
        return self._emit(Validation(self.step, phase_name, v.name, psnr, ssim, v.bicubic_psnr, v.bicubic_ssim,
                                     self.best_psnr, is_best, seconds, per_image, samples, niqe, v.hr_niqe,
                                     dot_lattice, v.hr_dot_lattice, blend))

    def _trained_on(self) -> dict[str, Any]:
        return {"folder": self.store.folder.name, "path": str(self.store.folder), "images": len(self.store)}

    def _export(self, phase_idx: int, complete: bool) -> ModelExported | None:
        if not self.main:
            return None
        name = export_name(self.config, phase_idx)
        path, card = export_model(
            self.ema.module, self.run_dir, name, config=self.config, phase_index=phase_idx, steps=self.step,
            seconds=self.elapsed(), device=describe_device(self.device),
            trained_on=self._trained_on(),
            metrics=self.last_metrics or {}, ema=self.config.runtime.ema_decay > 0, complete=complete,
        )
        self.exported.append(str(path))
        return self._emit(ModelExported(self.step, self.config.phases[phase_idx].name, str(path), str(card)))

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    def phase_elapsed(self) -> float:
        return time.perf_counter() - self.phase_t0

    # ------------------------------------------------------------------ the run

    def events(self) -> Iterator[Event]:
        yield from self._setup()
        cfg, rt, state = self.config, self.config.runtime, self.state
        self.best_psnr = state.get("best_psnr") if state else None
        self.last_metrics = state.get("metrics") if state else None
        self.last_checkpoint: str | None = None
        self.exported: list[str] = []
        self.elapsed_before = float(state.get("elapsed", 0.0)) if state else 0.0
        self.t0 = time.perf_counter()
        self.step = int(state["step"]) if state else 0
        phase_idx = int(state["phase"]) if state else 0
        phase_start = int(state["phase_start"]) if state else 0
        resume_phase = state is not None and (not state["phase_done"] or self._can_extend(state))
        if state is not None and not resume_phase:
            phase_idx, phase_start = phase_idx + 1, self.step
        if state is not None:
            self.generator.load_state_dict(state["generator"])
            self.ema.load_state_dict(state["ema"])

        with torch.random.fork_rng(devices=[]):  # worker start-up must not consume the training RNG
            loader = make_loader(self.dataset, cfg.data, start_step=self.step, rank=self.dist.rank,
                                 world_size=self.dist.world_size, pin_memory=self.device.type == "cuda")
            batches = iter(loader)
        yield self._emit(RunStarted(str(self.run_dir), cfg.recipe, describe_device(self.device), str(self.amp).removeprefix("torch."),
                                    cfg.total_steps, self.step, len(self.store), len(self.validator) if self.validator else 0,
                                    self.dist.world_size, state is not None))
        stopped = False
        while phase_idx < len(cfg.phases) and not stopped:
            phase = cfg.phases[phase_idx]
            if phase.iterations == 0 and not resume_phase:
                yield self._notice(f"phase {phase.name} skipped (0 iterations)", "info")
                phase_idx += 1
                continue
            if not resume_phase and phase_idx > 0:
                # A new phase starts from the previous phase's (EMA) weights; the average restarts there.
                if phase.init == "ema":
                    self.generator.load_state_dict(self.ema.module.state_dict())
                self.ema.reset(self.generator)
            d = self.discriminators.get(phase_idx)
            stepper = GANStep(phase, generator=self.generator, g_forward=self.g_forward, ema=self.ema, device=self.device,
                              amp_dtype=self.amp, content=self.contents.get(phase_idx), discriminator=d,
                              d_forward=self.d_forward.get(phase_idx), agree=distributed.make_agree(self.dist, self.device),
                              nan_patience=rt.nan_patience, budget=self._budget(phase_idx))
            self.phase_t0 = time.perf_counter()
            if resume_phase:
                stepper.load_state_dict(state["stepper"])
                if d is not None and state.get("discriminator") is not None:
                    d.load_state_dict(state["discriminator"])
                self.phase_t0 -= float(state.get("phase_elapsed", 0.0))
            if state is not None:
                ckpt.restore_rng(state["rng"][min(self.dist.rank, len(state["rng"]) - 1)])
                state = self.state = None  # restored once
            end = phase_start + phase.iterations
            yield self._emit(PhaseChanged(phase_idx, phase.name, phase_start, end, phase.adversarial.type, resume_phase))
            stopped = yield from self._phase(phase_idx, phase_start, end, stepper, batches)
            if stopped:
                break
            yield from self._end_phase(stepper, phase_idx, phase_start)
            phase_idx, phase_start, resume_phase = phase_idx + 1, self.step, False

        if self.dist.enabled:
            distributed.broadcast_state(self.generator, self.dist)
            distributed.broadcast_state(self.ema.module, self.dist)
        distributed.barrier(self.dist)
        yield self._emit(Finished(self.step, cfg.total_steps, stopped, str(self.run_dir), self.elapsed(),
                                  tuple(self.exported), self.best_psnr, self.last_checkpoint))

    def _can_extend(self, state: dict[str, Any]) -> bool:
        """A finished phase continues on resume when the config now gives it more iterations."""
        phase = self.config.phases[int(state["phase"])]
        more = self.step - int(state["phase_start"]) < phase.iterations
        timed_out = bool(phase.time_limit_s) and float(state.get("phase_elapsed", 0.0)) >= phase.time_limit_s
        return more and not timed_out

    def _end_phase(self, stepper: GANStep, phase_idx: int, phase_start: int) -> Iterator[Event]:
        phase = self.config.phases[phase_idx]
        best = False
        if self.main:
            v = self._validate(phase.name)
            if v is not None:
                best = v.is_best
                yield v
            yield self._export(phase_idx, complete=True)
        saved = self._checkpoint(stepper, phase_idx, phase_start, True, best, "phase end")
        if saved is not None:
            yield saved

    def _phase(self, phase_idx: int, phase_start: int, end: int, stepper: GANStep, batches: Iterator) -> Iterator[Event]:
        """Steps of one phase; returns True when the run was stopped."""
        cfg, rt = self.config, self.config.runtime
        phase = cfg.phases[phase_idx]
        sums: dict[str, float] = defaultdict(float)
        counted = 0
        busy = data_wait = 0.0
        since_log = 0
        while self.step < end:
            if self.control.paused:
                yield self._emit(Paused(self.step))
                self.control.wait_while_paused()
                yield self._emit(Resumed(self.step))
            over = bool(phase.time_limit_s) and self.phase_elapsed() >= phase.time_limit_s
            stop, save, over = distributed.any_flags([self.control.stop_requested, self.control.take_save_request(), over],
                                                     self.dist, self.device)
            if stop:
                saved = self._checkpoint(stepper, phase_idx, phase_start, False, False, "stop")
                if saved is not None:
                    yield saved
                if rt.export_on_stop and self.main:
                    yield self._export(phase_idx, complete=False)
                return True
            if save:
                saved = self._checkpoint(stepper, phase_idx, phase_start, False, False, "request")
                if saved is not None:
                    yield saved
            if over:
                yield self._notice(f"phase {phase.name} reached its time limit ({phase.time_limit_s:g} s) after {self.step - phase_start} steps", "info")
                return False

            t_start = time.perf_counter()
            batch = next(batches)
            t_data = time.perf_counter()
            hr = to_float(batch[0], self.device, self.channels_last)
            if self.paired:
                lr = to_float(batch[1], self.device, self.channels_last)
            else:  # the key makes random degradations a function of the step: resume stays exact
                lr = degrade(hr, cfg.data, channels_last=self.channels_last, key=(cfg.runtime.seed, self.step, self.dist.rank))
            lr_g, lr_d = stepper.set_lr(self.step - phase_start, phase.iterations)
            values = stepper(lr, hr)
            self.step += 1
            busy += time.perf_counter() - t_start
            data_wait += t_data - t_start
            since_log += 1
            if values is not None:
                counted += 1
                for k, v in values.items():
                    sums[k] += v

            if self.step % rt.log_interval == 0 or self.step == end:
                losses = {k: v / counted for k, v in sums.items()} if counted else {}
                rate = since_log / busy if busy > 0 else 0.0
                yield self._emit(TrainStep(self.step, cfg.total_steps, phase.name, losses, lr_g, lr_d, rate,
                                           rate * cfg.data.batch_size * self.dist.world_size,
                                           data_wait / busy if busy > 0 else 0.0, since_log, stepper.skipped))
                sums.clear()
                counted = since_log = 0
                busy = data_wait = 0.0
            if self.step == end:
                break
            best = False
            if rt.val_interval and self.step % rt.val_interval == 0:
                v = self._validate(phase.name) if self.main else None
                if v is not None:
                    best = v.is_best
                    yield v
                (best,) = distributed.any_flags([best], self.dist, self.device)  # every rank joins the save
            if (rt.checkpoint_interval and self.step % rt.checkpoint_interval == 0) or best:
                saved = self._checkpoint(stepper, phase_idx, phase_start, False, best, "best" if best else "interval")
                if saved is not None:
                    yield saved
        return False
