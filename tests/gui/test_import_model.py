"""Community models (spandrel) in the app: "Import model file…" and a dropped model file add the
file, used where it is, to both model pickers with its architecture, scale and size; remembered
across launches; a file that cannot be used is refused in one line; compare across scales."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import write_image
from test_dragdrop import drop_on

spandrel = pytest.importorskip("spandrel")
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402


def _trainer_helpers():
    """tests/trainer/test_foreign_models.py (its key-layout helper), imported by path."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "trainer" / "test_foreign_models.py"
    spec = importlib.util.spec_from_file_location("foreign_model_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _real_esrgan_pth(path: Path) -> Path:
    """A Real-ESRGAN-layout ``.pth`` (``params_ema``, ``conv_first``/``body.N.rdbK``...), random weights."""
    real_esrgan_keys = _trainer_helpers().real_esrgan_keys
    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params_ema": real_esrgan_keys(ESRGAN(num_filters=8, num_blocks=1, scale=4).state_dict())}, path)
    return path


def _compact_x2(path: Path) -> Path:
    from safetensors.torch import save_file

    torch.manual_seed(1)
    save_file(Compact(num_feat=8, num_conv=2, upscale=2).state_dict(), str(path))
    return path


def _labels(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_import_adds_the_file_where_it_is_and_it_is_remembered(make_window, qtbot, env_dirs, tmp_path, store):
    from srgan_desktop.settings import load_settings, save_settings

    source = _real_esrgan_pth(tmp_path / "downloads" / "RealESRGAN_x4plus.pth")
    window = make_window()
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        window.import_model(str(source))
    assert window.settings.model == str(source)
    label = window.options.model.currentText()
    assert label.startswith("RealESRGAN_x4plus x4 (file)") and "ESRGAN, 226.1k" in label, label
    assert "parameters" in window.options.model.toolTip() and str(source) in window.options.model.toolTip()
    assert not (env_dirs["user"] / "models").exists() or not any((env_dirs["user"] / "models").iterdir())  # not copied

    other = _compact_x2(tmp_path / "other_x2.safetensors")
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        window.import_model(str(other))  # the second import is the main model: the first is in "Compare with"
    assert any(t.startswith("RealESRGAN_x4plus x4 (file)") for t in _labels(window.options.compare))
    save_settings(store, window.settings)
    again = make_window()  # the next launch lists both files again
    assert load_settings(store).imported_models() == [str(source), str(other)]
    assert again.options.model.currentText().startswith("other_x2 x2 (file)")
    assert any(t.startswith("RealESRGAN_x4plus x4 (file)") for t in _labels(again.options.compare))


def test_dropped_model_file_is_imported_not_queued(make_window, qtbot, tmp_path):
    model = _compact_x2(tmp_path / "2x_compact.safetensors")
    window = make_window()
    with qtbot.waitSignal(window.environment_ready, timeout=60000):
        assert drop_on(window, window.comparator.view, [model])
    assert len(window.queue) == 0
    assert window.options.model.currentText().startswith("2x_compact x2 (file)")


def test_unusable_files_are_refused_in_one_line(make_window, qtbot, tmp_path):
    mystery = tmp_path / "mystery.pth"
    torch.save({"encoder.weight": torch.zeros(4, 3, 3, 3)}, mystery)
    window = make_window()
    for path, reason in ((mystery, "not a super-resolution model spandrel recognises"),
                         (tmp_path / "gone.pth", "not found")):
        with qtbot.waitSignal(window.message, timeout=30000,
                              check_params_cb=lambda t: t.startswith("Import failed")) as said:
            window.import_model(str(path))
        text = said.args[0]
        assert reason in text and path.name in text and "\n" not in text, text
    assert window.settings.imported_models() == []


def test_upscale_and_compare_models_of_different_scales(make_window, qtbot, tmp_path):
    """A 4x community model upscales an image; a 2x one is compared with it at the same canvas size."""
    x4 = _real_esrgan_pth(tmp_path / "m" / "esrgan_x4.pth")
    x2 = _compact_x2(tmp_path / "m" / "compact_x2.safetensors")
    image = write_image(tmp_path / "in" / "a.png", size=(24, 20), seed=3)
    window = make_window(model=str(x4), compare_model=str(x2), model_files=f"{x4}\n{x2}")
    assert window.options.model.currentData() == str(x4)
    with qtbot.waitSignal(window.runner.result_ready, timeout=60000):
        window.add_paths([image])
    result = next(iter(window.results.values()))
    assert result.scale == 4 and result.layers["sr"].pixels.shape == (80, 96, 3)
    with qtbot.waitSignal(window.compare_done, timeout=60000) as done:
        window.compare_models()
    assert done.args[0] == ""
    shown = next(iter(window.results.values())).layers["sr2"]
    assert shown.pixels.shape == (80, 96, 3) and "x2, shown at x4" in shown.title
