"""Per-user folders from platformdirs (issue 16 item 7), with the environment overrides tests and users rely on."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from trainer import paths, zoo


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("SRGAN_USER_DIR", "SRGAN_CONFIG_DIR", "SRGAN_CACHE_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_overrides_win(clean_env, monkeypatch):
    monkeypatch.setenv("SRGAN_USER_DIR", str(clean_env / "u"))
    monkeypatch.setenv("SRGAN_CONFIG_DIR", str(clean_env / "c"))
    assert paths.user_data_dir() == clean_env / "u" and zoo.user_models_dir() == clean_env / "u" / "models"
    assert paths.user_config_dir() == clean_env / "c"
    monkeypatch.setenv("SRGAN_CACHE_DIR", str(clean_env / "k"))
    assert paths.user_cache_dir() == clean_env / "k"
    monkeypatch.setenv("SRGAN_CACHE_DIR", "off")
    assert paths.user_cache_dir() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG folders are Linux's")
def test_linux_keeps_the_folder_of_earlier_versions_and_follows_xdg(clean_env, monkeypatch):
    home = clean_env / "home"
    assert paths.user_data_dir() == home / ".local" / "share" / "srgan-desktop"  # where models were before
    assert paths.user_config_dir() == home / ".config" / "srgan-desktop"
    assert paths.user_cache_dir() == home / ".cache" / "srgan-desktop"
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "cache"))
    assert paths.user_cache_dir() == clean_env / "cache" / "srgan-desktop"
    monkeypatch.setenv("XDG_DATA_HOME", str(clean_env / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(clean_env / "conf"))
    assert paths.user_data_dir() == clean_env / "data" / "srgan-desktop"
    assert paths.user_config_dir() == clean_env / "conf" / "srgan-desktop"


def test_platformdirs_folder_with_the_earlier_one_kept_while_it_alone_exists(clean_env, monkeypatch):
    """As on macOS/Windows, where platformdirs' folder is not the ~/.local/share one used before."""
    new = clean_env / "Library" / "Application Support" / "srgan-desktop"
    calls = []

    def fake(appname, appauthor=None, **_):
        calls.append((appname, appauthor))
        return str(new)

    monkeypatch.setattr(platformdirs, "user_data_dir", fake)
    assert paths.user_data_dir() == new and calls == [("srgan-desktop", False)]
    earlier = clean_env / "home" / ".local" / "share" / "srgan-desktop"
    (earlier / "models").mkdir(parents=True)
    assert paths.user_data_dir() == earlier  # models trained with an earlier version are found
    new.mkdir(parents=True)
    assert paths.user_data_dir() == new
