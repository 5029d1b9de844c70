"""Locations of shipped resources, shared data and the per-user folders (``platformdirs``), each
overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "srgan-desktop"
"""The per-user folders' name (``platformdirs``: no author folder on Windows)."""


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
    """Per-user folder for trained and imported models, training runs and pasted images.

    ``SRGAN_USER_DIR`` overrides it; otherwise ``platformdirs``' user data folder of
    :data:`APP_NAME`: on Linux ``$XDG_DATA_HOME/srgan-desktop``, by default
    ``~/.local/share/srgan-desktop`` (the folder earlier versions used everywhere), on macOS
    ``~/Library/Application Support/srgan-desktop``, on Windows ``%LOCALAPPDATA%\\srgan-desktop``.
    Where that differs from the earlier folder, the earlier one stays in use while it exists and
    the new one does not, so models trained before are still found.
    """
    env = os.environ.get("SRGAN_USER_DIR")
    if env:
        return Path(env)
    import platformdirs

    folder = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    earlier = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP_NAME
    if earlier != folder and earlier.is_dir() and not folder.exists():
        return earlier
    return folder


def user_config_dir() -> Path:
    """Per-user folder for the desktop app's settings (``SRGAN_CONFIG_DIR`` overrides it):
    ``platformdirs``' user config folder of :data:`APP_NAME` (Linux ``$XDG_CONFIG_HOME/srgan-desktop``,
    by default ``~/.config/srgan-desktop``; macOS ``~/Library/Application Support/srgan-desktop``;
    Windows ``%LOCALAPPDATA%\\srgan-desktop``)."""
    env = os.environ.get("SRGAN_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_cache_dir() -> Path | None:
    """Per-user folder for caches that can be rebuilt (the converted OpenVINO models), or None when
    ``SRGAN_CACHE_DIR`` is ``off``. ``SRGAN_CACHE_DIR`` overrides it; otherwise ``platformdirs``'
    user cache folder of :data:`APP_NAME` (Linux ``$XDG_CACHE_HOME/srgan-desktop``, by default
    ``~/.cache/srgan-desktop``; macOS ``~/Library/Caches/srgan-desktop``; Windows
    ``%LOCALAPPDATA%\\srgan-desktop\\Cache``)."""
    env = os.environ.get("SRGAN_CACHE_DIR")
    if env and env.strip().lower() == "off":
        return None
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
