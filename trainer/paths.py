"""Locations of shipped resources and shared data, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """``resources/`` of the checkout (``SRGAN_RESOURCES`` overrides it)."""
    return Path(os.environ.get("SRGAN_RESOURCES", PROJECT_ROOT / "resources"))


def models_dir() -> Path:
    """Folder of the shipped model files (``resources/models``)."""
    return resources_dir() / "models"


def shared_data_dir() -> Path:
    """The shared data folder: ``SRGAN_SHARED_DATA``, else the first ``shared/data`` found next to the
    checkout or one of its parents (a clone may live deeper than the main checkout)."""
    env = os.environ.get("SRGAN_SHARED_DATA")
    if env:
        return Path(env)
    for parent in PROJECT_ROOT.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    # Nothing found: the place next to the checkout (errors name it; SRGAN_SHARED_DATA moves it).
    return PROJECT_ROOT.parent / "shared" / "data"


def benchmarks_dir() -> Path:
    """Standard benchmark sets (Set5, Set14, BSD68) inside the shared data folder."""
    return shared_data_dir() / "benchmarks"


def user_data_dir() -> Path:
    """Per-user folder for trained models and runs (``SRGAN_USER_DIR`` overrides)."""
    default = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "srgan-desktop"
    return Path(os.environ.get("SRGAN_USER_DIR", default))
