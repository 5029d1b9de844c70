"""One upscale run split across processes and machines (``torchrun``), with one summary at the end.

Under ``torchrun`` (or any launcher that sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``) every process ("rank") runs the same
command on the same inputs:

1. it joins the process group (gloo: only small Python objects travel, so no NCCL is needed even
   on GPUs, and a rank's collectives never wait on its device);
2. it scans and plans *every* file (:func:`trainer.pipeline.plan_files`), exactly as a single
   process would, so the output names are those of a single process;
3. :func:`agree` gathers every rank's outcome and a digest of its plan. It is the barrier that keeps
   anyone from writing before everyone has planned against the same output folder; if a rank could
   not plan, or planned different names (the machines do not see the same files at the same
   paths), every rank stops with the same status;
4. rank ``r`` of ``N`` carries out planned files ``r, r+N, r+2N...`` (:func:`take`,
   :func:`run_shard`) on its own device (:meth:`Shard.device`: ``cuda:LOCAL_RANK`` on CUDA, else
   the CPU with the cores shared among the node's ranks);
5. :func:`gather` brings every rank's ``FileDone`` events together; rank 0 reports them, and every
   rank exits with the worst status of all ranks.

Without those environment variables (``WORLD_SIZE`` unset or 1) nothing here does anything: the
run is a plain single process. Multi-node runs need the inputs and the output folder on a shared
file system at the same paths on every machine.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from trainer.pipeline.engines import EngineCache, EngineSettings
from trainer.pipeline.events import FileDone, PipelineEvent
from trainer.pipeline.plan import PlannedFile
from trainer.pipeline.run import process_file

# Ranks work on their own between the planning agreement and the final gather, which waits for the
# slowest rank: the process group's default 30 minutes would end a big batch. A rank that dies is
# torchrun's business (it stops the others), so a long wait cannot hang a failed run.
TIMEOUT = timedelta(days=7)


@dataclass(frozen=True)
class Shard:
    """This process's place in the run: ``rank`` of ``world_size``, ``local_rank`` of
    ``local_world_size`` on its machine. ``Shard()`` is a single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Shard:
        """The shard torchrun describes in the environment (a single process without it)."""
        env = os.environ if environ is None else environ
        world = int(env.get("WORLD_SIZE", "1") or 1)
        if world <= 1:
            return cls()
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
        return cls(rank, world, local, int(env.get("LOCAL_WORLD_SIZE", str(world))))

    @property
    def enabled(self) -> bool:
        """True when the run is split across more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the process that shows progress and the summary)."""
        return self.rank == 0

    def join(self) -> None:
        """Join the process group (gloo, env://); a no-op for a single process."""
        if not self.enabled:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo", rank=self.rank, world_size=self.world_size, timeout=TIMEOUT)

    def barrier(self) -> None:
        """Wait until every rank gets here; a no-op for a single process."""
        if not self.enabled:
            return
        import torch.distributed as dist

        dist.barrier()

    def leave(self) -> None:
        """Leave the process group (no barrier: after a failure the other ranks may be gone)."""
        if not self.enabled:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()

    def device(self, requested: str | None) -> str | None:
        """This rank's device for ``requested`` (``--device``): a CUDA request becomes
        ``cuda:LOCAL_RANK`` (modulo the GPUs present); on the CPU the machine's cores are shared
        among its ranks (torchrun would otherwise leave each one thread). Raises ``ValueError`` for
        a device that is not present. A single process gets ``requested`` unchanged."""
        if not self.enabled:
            return requested
        import torch

        from trainer.device import resolve_device

        dev = resolve_device(requested)
        if dev.type == "cuda":
            index = self.local_rank % max(1, torch.cuda.device_count())
            torch.cuda.set_device(index)
            return f"cuda:{index}"
        if dev.type == "cpu":
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            torch.set_num_threads(max(1, cores // max(1, self.local_world_size)))
        return str(dev)


def take(plan: Sequence[PlannedFile], shard: Shard) -> list[tuple[int, PlannedFile]]:
    """This rank's files of ``plan`` with their 1-based index in the whole plan: files ``r, r+N, ...``."""
    return [(i + 1, planned) for i, planned in enumerate(plan) if i % shard.world_size == shard.rank]


def plan_digest(plan: Sequence[PlannedFile]) -> str:
    """A fingerprint of what the plan decides (sources, models, formats, outputs, sizes, actions)."""
    h = hashlib.sha256()
    for p in plan:
        h.update("\0".join((str(p.source.path), str(p.source.subdir), p.model, p.format, str(p.output),
                            p.action, str(p.overwrite), p.size.spec)).encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()


def gather(obj: Any, shard: Shard) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` for a single process)."""
    if not shard.enabled:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * shard.world_size
    dist.all_gather_object(out, obj)
    return out


def agree(plan: Sequence[PlannedFile], status: int, error: str, shard: Shard) -> tuple[int, str]:
    """After planning: the worst status over the ranks and what went wrong (empty when all is well).

    Every rank must call it, whatever happened while planning (``status`` 0, or the exit status
    and ``error`` of a failed planning): it is the barrier after which files may be written.
    """
    views = gather((status, error, plan_digest(plan) if status == 0 else ""), shard)
    worst = max(s for s, _, _ in views)
    if worst:
        # The worst status names the run's problem; its message, the first rank's that had it.
        errors = [(r, e) for r, (s, e, _) in enumerate(views) if s == worst]
        rank, message = errors[0]
        return worst, message if rank == 0 or not shard.enabled else f"rank {rank}: {message}"
    if len({d for _, _, d in views}) > 1:
        return 2, ("the ranks planned different outputs: every machine must see the same inputs and "
                   "output folder at the same paths")
    return 0, ""


def run_shard(
    plan: Sequence[PlannedFile],
    engines: EngineCache,
    settings: EngineSettings,
    shard: Shard,
    cancel: threading.Event | None = None,
    *,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[PipelineEvent]:
    """This rank's files of ``plan`` (:func:`take`), each reported with its index in the whole plan
    (``FileStarted.index`` of ``FileStarted.total``). A single process runs every file, in order."""
    from trainer.pipeline.run import clean_leftovers

    protect = tuple(protect)
    clean_leftovers(planned for _, planned in take(plan, shard))  # only this rank's names: others write too
    for index, planned in take(plan, shard):
        yield from process_file(planned, engines, settings, cancel, protect=protect, index=index, total=len(plan))


@dataclass(frozen=True)
class ShardResult:
    """What one rank did: its ``FileDone`` events with their plan index, the number of its files it
    did not get to (``interrupted``, after Ctrl+C; None when it finished), its own exit status and
    an error message (e.g. the output folder could not be created)."""

    done: tuple[tuple[int, FileDone], ...] = ()
    interrupted: int | None = None
    status: int = 0
    error: str = ""


def merge(results: Sequence[ShardResult]) -> tuple[list[FileDone], int | None, int, list[str]]:
    """Every rank's results as one run: the ``FileDone`` events in plan order, the files not
    processed (None when every rank finished), the worst rank status and the ranks' errors."""
    done = [d for _, d in sorted((pair for r in results for pair in r.done), key=lambda pair: pair[0])]
    stopped = [r.interrupted for r in results if r.interrupted is not None]
    errors = [r.error if len(results) == 1 else f"rank {n}: {r.error}" for n, r in enumerate(results) if r.error]
    return done, (sum(stopped) if stopped else None), max((r.status for r in results), default=0), errors
