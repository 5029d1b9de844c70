"""The data bundle that travels with the working tree to the device machine (``scripts/gpu_bundle.sh``).

The device tool copies the tracked files, the untracked files git does not ignore and the carried
paths, 64 MiB in all; ``../shared`` stays behind. So the data the run needs goes into the ignored
folder ``.gpu_bundle/`` (carried by name)::

    .gpu_bundle/benchmarks/Set5/   all of it (validation, engine checks)
    .gpu_bundle/train/<folder>/    training images, as many as fit, taken in turn from each folder
    .gpu_bundle/pylib/<package>/   the project's pure-Python dependencies the device machine lacks
                                   (it has torch, torchvision, numpy, pillow, scikit-image, safetensors;
                                   the first lent run failed on ``import tomli_w``); gpu_run.py puts
                                   this folder on its path
    .gpu_bundle/MANIFEST.json      commit, dirty flag, counts and sizes

The budget is 64 MiB minus what the working tree already sends minus a margin (other files may
appear before the run). Set14/BSD68 stay here: their evaluation happens back on the CPU.
Standard library only (it runs before any environment exists).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

MiB = 1 << 20
LIMIT = 64 * MiB
MARGIN = 4 * MiB
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
REPO = Path(__file__).resolve().parents[2]
# Imported by the core on the paths the run takes (config writing, cache folders, progress bars) and
# absent from the device machine's package list (the device tool's KINDS.md). Pure Python: they
# travel as source.
PURE_DEPS = ("tomli_w", "platformdirs", "tqdm")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def tree_bytes(repo: Path = REPO) -> int:
    """Bytes the device tool sends without the bundle: tracked files plus untracked, not ignored ones."""
    names = _git(repo, "ls-files", "-z").split("\0") + _git(repo, "ls-files", "-z", "--others", "--exclude-standard").split("\0")
    return sum((repo / n).stat().st_size for n in set(names) if n and (repo / n).is_file())


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _round_robin(train: Path) -> list[Path]:
    """Training images alternating between the sub-folders, so a partial bundle keeps each kind."""
    groups = [_images(d) for d in sorted(p for p in train.iterdir() if p.is_dir())]
    loose = [p for p in sorted(train.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if loose:
        groups.append(loose)
    order = []
    for i in range(max((len(g) for g in groups), default=0)):
        order += [g[i] for g in groups if i < len(g)]
    return order


def find_package(name: str, repo: Path = REPO) -> Path | None:
    """The source folder (or single module file) of an installed pure-Python package: this
    interpreter's, else the project's ``.venv`` (the bundle is built with the system Python)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    candidates = []
    if spec is not None and spec.origin:
        origin = Path(spec.origin)
        candidates.append(origin.parent if origin.name == "__init__.py" else origin)
    for site in sorted((repo / ".venv" / "lib").glob("python3*/site-packages")):
        candidates += [site / name, site / f"{name}.py"]
    return next((c for c in candidates if c.exists()), None)


def copy_pylib(dest: Path, names: tuple[str, ...] = PURE_DEPS, repo: Path = REPO) -> list[str]:
    """Copy ``names`` into ``dest`` (without byte-code); returns the names not found."""
    missing = []
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = find_package(name, repo)
        if src is None:
            missing.append(name)
        elif src.is_dir():
            shutil.copytree(src, dest / src.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dest / src.name)
    return missing


def build(shared: Path, dest: Path, *, repo: Path = REPO, limit: int = LIMIT, margin: int = MARGIN) -> dict:
    """Fill ``dest`` from ``shared`` (``../shared/data``) within the budget; returns the manifest."""
    set5, train = shared / "benchmarks" / "Set5", shared / "train"
    if not set5.is_dir() or not train.is_dir():
        raise SystemExit(f"gpu_bundle: {shared} lacks benchmarks/Set5 or train/")
    if dest.exists():
        if not (dest / "MANIFEST.json").is_file() and any(dest.iterdir()):
            raise SystemExit(f"gpu_bundle: {dest} exists and is not a bundle; not touching it")
        shutil.rmtree(dest)
    tree = tree_bytes(repo)
    budget = limit - margin - tree
    shutil.copytree(set5, dest / "benchmarks" / "Set5")
    missing = copy_pylib(dest / "pylib", repo=repo)
    if missing:
        print(f"gpu_bundle: warning: {', '.join(missing)} not installed here (run scripts/setup.sh): "
              "the device run's training fails without them", file=sys.stderr)
    used = folder_bytes(dest)
    taken, left_out = 0, 0
    for img in _round_robin(train):
        size = img.stat().st_size
        if used + size > budget:
            left_out += 1
            continue
        target = dest / "train" / img.relative_to(train)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(img, target)
        used += size
        taken += 1
    try:
        commit = _git(repo, "rev-parse", "HEAD").strip()
        dirty = bool(_git(repo, "status", "--porcelain").strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", None
    manifest = {
        "commit": commit, "dirty": dirty, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "train_images": taken, "train_left_out": left_out, "bundle_bytes": used, "tree_bytes": tree,
        "limit_bytes": limit, "margin_bytes": margin, "source": str(shared),
        "pylib": sorted(p.name for p in (dest / "pylib").iterdir()), "pylib_missing": missing,
    }
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    manifest["bundle_bytes"] = folder_bytes(dest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Gather the GPU run's data into .gpu_bundle/ (see scripts/gpu_run.py).")
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    p.add_argument("--dest", type=Path, default=REPO / ".gpu_bundle")
    p.add_argument("--margin-mib", type=float, default=MARGIN / MiB, help="kept free under the 64 MiB (default 4)")
    p.add_argument("--check", action="store_true", help="only report the sizes; exit 1 when over the limit")
    args = p.parse_args(argv)
    if not args.check:
        m = build(args.shared, args.dest, margin=int(args.margin_mib * MiB))
        print(f"gpu_bundle: {args.dest}: Set5 + {m['train_images']} training images ({m['train_left_out']} left out), "
              f"{m['bundle_bytes'] / MiB:.1f} MiB")
    tree = tree_bytes()
    bundle = folder_bytes(args.dest) if args.dest.is_dir() else 0
    total = tree + bundle
    print(f"gpu_bundle: working tree {tree / MiB:.1f} MiB + bundle {bundle / MiB:.1f} MiB = {total / MiB:.1f} MiB "
          f"of {LIMIT / MiB:.0f} MiB")
    return 0 if total <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
