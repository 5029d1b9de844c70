"""Test-wide settings: Qt offscreen, CPU only, small thread count, shared data location."""

import os

# Set before any Qt import so every GUI test runs without a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SRGAN_DEVICE", "cpu")

import pytest  # noqa: E402

from trainer.paths import benchmarks_dir  # noqa: E402


@pytest.fixture(scope="session")
def benchmarks():
    """Path of the shared benchmark sets; skips (with the reason) when the data is not on this machine."""
    path = benchmarks_dir()
    if not (path / "Set5").is_dir():
        pytest.skip(f"benchmark data not found at {path} (set SRGAN_SHARED_DATA)")
    return path
