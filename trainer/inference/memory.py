"""Free memory per device, out-of-memory detection and the automatic tile size."""

from __future__ import annotations

import ctypes
import gc
import math
import os
import sys

import torch

# On the CPU, activations above this size (whole 512x512 SRResNet input: 1.5 GB) are tiled: it keeps
# a 2000x2000 -> 8000x8000 upscale under 2.5 GB resident; bigger tiles only save context padding.
CPU_BUDGET_CAP = 1536 << 20
# Share of the free memory a tile batch may use; the rest covers the allocator's slack, the output
# buffers on the host and other programs.
FREE_FRACTION = {"cpu": 0.4, "cuda": 0.7, "mps": 0.5}


def available_ram() -> int:
    """Bytes of RAM available to new allocations (``MemAvailable`` of /proc/meminfo; psutil-free)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # other Unixes: free physical pages
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30  # unknown platform: assume 4 GB


def free_bytes(device: torch.device) -> int:
    """Memory a new tile can use on ``device`` (device memory for GPUs, RAM for the CPU)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        # Blocks cached by PyTorch's allocator are free for our tensors too.
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type == "mps":
        try:
            return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
        except (AttributeError, RuntimeError):
            return available_ram() // 2
    return available_ram()


def memory_budget(device: torch.device) -> int:
    """Bytes the activations of one batch of tiles may take."""
    budget = int(free_bytes(device) * FREE_FRACTION.get(device.type, 0.4))
    if device.type == "cpu":
        budget = min(budget, CPU_BUDGET_CAP)
    return max(budget, 1)


# glibc's mallopt parameter number and the fixed mmap threshold set by :func:`bound_cpu_heap`.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20
_heap_bounded: list[bool] = []


def bound_cpu_heap() -> bool:
    """Stop glibc's heap from keeping freed tile buffers: True when the setting was applied.

    By default glibc raises its mmap threshold (up to 32 MB) each time a large mmapped block is
    freed, so later tensors of 1-32 MB come from the heap, which fragments and is never given back:
    measured on this project's CPU upscaler, resident memory grew by ~12 MB per image (599 -> 716 MB
    over ten 200x200 images) and a folder of 26 photos peaked at 2.7 GB. A fixed threshold turns the
    adjustment off (the same ten images: 570 -> 572 MB). Linux/glibc only; elsewhere a no-op.
    """
    if _heap_bounded:
        return _heap_bounded[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
        except (OSError, AttributeError):  # musl or no libc.so.6: nothing to tune
            ok = False
    _heap_bounded.append(ok)
    return ok


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` means "out of memory" (CUDA/MPS OOM or a failed CPU allocation)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    return False


def release_memory(device: torch.device) -> None:
    """Give cached blocks back after an OOM so the retry starts from a clean allocator."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        try:
            torch.mps.empty_cache()
        except (AttributeError, RuntimeError):
            pass


def auto_tile(height: int, width: int, *, bytes_per_pixel: float, budget: int, context: int, min_tile: int) -> int:
    """Tile size (input pixels) whose window fits ``budget``; 0 when the whole image fits.

    Rounded down to a multiple of 8; never below ``min_tile``.
    """
    if height * width * bytes_per_pixel <= budget:
        return 0
    side = int(math.sqrt(budget / bytes_per_pixel)) - 2 * context
    tile = max(min_tile, side // 8 * 8)
    return min(tile, max(height, width))
