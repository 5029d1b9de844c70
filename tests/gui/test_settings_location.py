"""The app's settings file lives in the platformdirs config folder; earlier Qt-placed settings are carried over."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from srgan_desktop.settings import APPLICATION, ORGANIZATION, load_settings, make_qsettings, settings_file


@pytest.fixture
def qt_user_path(tmp_path):
    """Qt's own per-user INI folder moved into the test's folder (and back afterwards)."""
    fmt, scope = QSettings.Format.IniFormat, QSettings.Scope.UserScope
    before = Path(QSettings(fmt, scope, ORGANIZATION, APPLICATION).fileName()).parent.parent
    QSettings.setPath(fmt, scope, str(tmp_path / "qt"))
    yield tmp_path / "qt"
    QSettings.setPath(fmt, scope, str(before))


def test_settings_file_follows_the_config_folder_and_takes_over_earlier_settings(qt_user_path, tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_CONFIG_DIR", str(tmp_path / "conf"))
    assert settings_file() == tmp_path / "conf" / "settings.ini"
    earlier = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
    assert Path(earlier.fileName()).is_relative_to(qt_user_path)
    earlier.setValue("options/quality", 77)
    earlier.setValue("options/out_size", "x3")
    earlier.sync()
    store = make_qsettings()
    assert Path(store.fileName()) == tmp_path / "conf" / "settings.ini" and settings_file().is_file()
    s = load_settings(store)
    assert (s.quality, s.out_size) == (77, "x3")
    earlier.setValue("options/quality", 12)  # once the new file exists, it is the one read
    earlier.sync()
    assert load_settings(make_qsettings()).quality == 77
