"""Test-wide settings: Qt offscreen, CPU only, small thread count, shared data location."""

import os

# Set before any Qt import so every GUI test runs without a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SRGAN_DEVICE", "cpu")
# "auto" means PyTorch in tests: OpenVINO is tested where a test asks for it (test_zz_openvino_backend.py).
# With OpenVINO used by the many app tests, a later test whose DataLoader forks workers crashed the
# pytest process (SIGSEGV in the parent, only with pytest's faulthandler, timeout and fd capture on).
os.environ.setdefault("SRGAN_BACKEND", "torch")
# No test may wait on a network download (VGG weights): fail fast with the "missing file" message.
os.environ.setdefault("SRGAN_OFFLINE", "1")
# The converted-OpenVINO-model cache goes to a folder of this test session, never the user's.
if "SRGAN_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["SRGAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="srgan-test-cache-")
# Tests use tiny networks, where thread start-up costs more than it saves (measured: a 3x3 conv on a
# 16x16 input takes ~20 ms with 2 threads on a loaded 2-core machine, ~0.2 ms with 1). Set before
# torch is imported so subprocesses (DDP, SIGKILL tests) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from trainer.paths import PROJECT_ROOT, benchmarks_dir  # noqa: E402


def _load_file_module(relpath: str, name: str | None = None):
    import importlib.util

    path = PROJECT_ROOT / relpath
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_file_module():
    """``load_file_module("scripts/x.py")``: import a file of the checkout that is not in a package
    (a script, a benchmark, another test module's helpers) as a module."""
    return _load_file_module


@pytest.fixture(scope="session")
def benchmarks():
    """Path of the shared benchmark sets; skips (with the reason) when the data is not on this machine."""
    path = benchmarks_dir()
    if not (path / "Set5").is_dir():
        pytest.skip(f"benchmark data not found at {path} (set SRGAN_SHARED_DATA)")
    return path


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """A tiny seeded SRResNet x4 (8 channels, 2 blocks, bicubic skip) saved as a model file."""
    import torch

    from trainer import modelfile
    from trainer.models import build_model

    torch.manual_seed(0)
    model = build_model("srresnet", channels=8, num_blocks=2, bicubic_skip=True)
    return modelfile.save_model(model, tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture
def clean_and_photo_zoo(tmp_path, monkeypatch):
    """``tmp_path`` as a zoo shipping tiny seeded ``srgan_x4`` and ``photo_x4`` files (what ``auto``
    chooses between), with the user folder inside it too."""
    import torch

    from trainer.modelfile import save_model
    from trainer.models import build_model

    models = tmp_path / "resources" / "models"
    models.mkdir(parents=True)
    monkeypatch.setenv("SRGAN_RESOURCES", str(tmp_path / "resources"))
    monkeypatch.setenv("SRGAN_USER_DIR", str(tmp_path / "user"))
    for i, name in enumerate(("srgan_x4", "photo_x4")):
        torch.manual_seed(i)
        save_model(build_model("srresnet", channels=4, num_blocks=1), models / f"{name}.safetensors")
    return tmp_path
