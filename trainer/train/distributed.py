"""Multi-process data-parallel training (``torchrun --nproc_per_node=N srgan-train ...``).

One process per device; torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT``) is all that is needed. NCCL on CUDA, gloo on the CPU. Rank 0
logs, validates, checkpoints and exports; every rank restores the same checkpoint on resume.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` (``enabled`` when world_size > 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when training with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the process that writes files and reports)."""
        return self.rank == 0


def setup(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group described by the environment; returns the info and this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local), device


def teardown() -> None:
    """Leave the process group (no barrier: after a failure the other ranks may be gone)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel when distributed (else itself)."""
    if not info.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def any_flags(flags: list[bool], info: DistInfo, device: torch.device) -> list[bool]:
    """Element-wise OR of boolean flags over all ranks (so every rank stops at the same step)."""
    if not info.enabled:
        return flags
    t = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def make_agree(info: DistInfo, device: torch.device):
    """A function turning a local "finite" verdict into the AND over all ranks."""

    def agree(flag: bool) -> bool:
        if not info.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item())

    return agree


def make_mean(info: DistInfo):
    """A function turning a local tensor into its mean over all ranks (itself without DDP)."""

    def mean(t: torch.Tensor) -> torch.Tensor:
        if not info.enabled:
            return t
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t / info.world_size

    return mean


def broadcast_state(module: nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank (BatchNorm statistics drift per rank)."""
    if not info.enabled:
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            flat = t.data.contiguous()  # channels-last tensors: collectives want dense ones
            dist.broadcast(flat, src=0)
            if flat.data_ptr() != t.data.data_ptr():
                t.data.copy_(flat)


def gather(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj`` (rank order); ``[obj]`` when not distributed."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    """Wait for every rank."""
    if info.enabled:
        dist.barrier()
