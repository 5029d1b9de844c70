"""The hold-out split (``data.holdout``): which training images validate instead of training.

Torch-free, so the GUI's data check (which links the same split into a run folder) imports it too.
"""

from __future__ import annotations

from pathlib import Path


def choose_holdout(files: list[Path], n: int) -> list[Path]:
    """``n`` of ``files`` spread evenly over the list (pass it sorted): a fixed, reproducible
    choice; never all of them (one is always left to train on)."""
    n = min(n, len(files) - 1)
    if n <= 0:
        return []
    step = len(files) / n
    return [files[int(i * step + step / 2)] for i in range(n)]


def holdout_files(folder: str | Path, n: int) -> list[Path]:
    """The ``n`` hold-out images of training folder ``folder``, exactly as the trainer picks them
    (every image found recursively, sorted, then :func:`choose_holdout`): for tools that measure a
    run's hold-out after the fact."""
    from trainer.imageio import iter_image_files

    return choose_holdout(sorted(f for f, _ in iter_image_files([Path(folder)], recursive=True)), n)


def link_holdout(folder: str | Path, n: int, into: str | Path) -> Path:
    """Symbolic links to the ``n`` hold-out images of training folder ``folder`` in ``into``
    (created if needed), named ``NN_<name>`` in the trainer's order, so that a tool reading
    ``into`` sorted by name (``srgan-eval``) numbers the images as the trainer's validation
    does: image i of a web-degraded evaluation then gets seed base + i, the same LR the trainer
    validated on. Other symbolic links in ``into`` (an older naming, another run's split) are
    removed so that they are not measured too; other files are left alone. Returns ``into``."""
    out = Path(into)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {f"{i:02d}_{f.name}": Path(f).resolve() for i, f in enumerate(holdout_files(folder, n))}
    for p in out.iterdir():
        if p.is_symlink() and (p.name not in wanted or p.resolve() != wanted[p.name]):
            p.unlink()
    for name, target in wanted.items():
        if not (out / name).is_symlink():
            (out / name).symlink_to(target)
    return out
