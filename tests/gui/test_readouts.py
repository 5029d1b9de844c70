"""Readouts equal trainer's metric functions and what srgan-eval prints for the same image."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import write_image

from srgan_desktop.readouts import fmt_psnr, fmt_ssim
from trainer.app.analysis import clip_region


@pytest.fixture()
def butterfly(benchmarks, tmp_path):
    """Set5's butterfly alone in a folder (srgan-eval evaluates folders)."""
    folder = tmp_path / "gt"
    folder.mkdir()
    return shutil.copy(benchmarks / "Set5" / "butterfly.png", folder / "butterfly.png")


def test_evaluation_numbers_equal_srgan_eval_and_trainer_metrics(make_window, qtbot, tiny_model, butterfly, tmp_path, capsys):
    from trainer.cli.evaluate import main as srgan_eval
    from trainer.evaluation import read_rgb_u8
    from trainer.inference.whole import whole_image_fn
    from trainer.metrics import bicubic_upscale, prepare_pair, psnr_y, ssim_y
    from trainer.modelfile import load_model

    window = make_window(evaluate=True)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.add_paths([butterfly])
    result = window.readouts.result
    assert result.has_ground_truth and set(result.layers) == {"lr", "bicubic", "sr", "hr", "error", "error_bicubic"}

    # 1. The very arrays, recomputed here with trainer's functions.
    hr, lr = prepare_pair(read_rgb_u8(butterfly), 4)
    sr = whole_image_fn(load_model(tiny_model), "cpu")(lr)  # srgan-eval's function, default backend
    assert np.array_equal(result.layers["hr"].pixels, hr) and np.array_equal(result.layers["lr"].pixels, lr)
    assert np.array_equal(result.layers["sr"].pixels, sr)
    bic = bicubic_upscale(lr, 4)
    assert result.scores["sr"].psnr == psnr_y(hr, sr, shave=4) and result.scores["sr"].ssim == ssim_y(hr, sr, shave=4)
    assert result.scores["bicubic"].psnr == psnr_y(hr, bic, shave=4)

    # 2. srgan-eval on the same image: same full-precision figures, same printed text.
    report = tmp_path / "eval.json"
    assert srgan_eval(["--model", str(tiny_model), "--datasets", str(butterfly.parent), "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    figures = json.loads(report.read_text())
    for method, key in (("bicubic", "bicubic"), ("tiny_x4", "sr")):
        cli = figures[method]["gt"]
        assert result.scores[key].psnr == pytest.approx(cli["psnr"], abs=1e-12)
        assert result.scores[key].ssim == pytest.approx(cli["ssim"], abs=1e-12)
        row = next(line.split() for line in printed.splitlines() if line.startswith(method + " "))
        label = "Bicubic" if key == "bicubic" else "SR: tiny_x4"
        assert window.readouts.cell(label, "PSNR") == row[2] == fmt_psnr(cli["psnr"])
        assert window.readouts.cell(label, "SSIM") == row[3] == fmt_ssim(cli["ssim"])

    # 3. The on-screen region: zoom in, wait for the worker, compare with the crop's figures.
    qtbot.waitUntil(lambda: not window.region.pending, timeout=30000)
    assert window.readouts.cell("SR: tiny_x4", "PSNR view") == fmt_psnr(result.scores["sr"].psnr)  # whole image on screen
    state = window.comparison
    with qtbot.waitSignal(window.region.updated, timeout=30000):
        state.set_zoom(4.0, (40.0, 30.0))
    box = clip_region(state.visible_rect(), (hr.shape[1], hr.shape[0]), 4)
    assert box is not None and box != (4, 4, hr.shape[1] - 4, hr.shape[0] - 4)
    x0, y0, x1, y1 = box
    crop_psnr = psnr_y(hr[y0:y1, x0:x1], sr[y0:y1, x0:x1], shave=0)
    crop_ssim = ssim_y(hr[y0:y1, x0:x1], bic[y0:y1, x0:x1], shave=0)
    assert window.readouts.region["sr"].psnr == crop_psnr
    assert window.readouts.cell("SR: tiny_x4", "PSNR view") == fmt_psnr(crop_psnr)
    assert window.readouts.cell("Bicubic", "SSIM view") == fmt_ssim(crop_ssim)

    # 4. The error heat-map is |SR - HR| on Y: black where they agree, brighter where they differ.
    from trainer.metrics import rgb_to_y

    err = np.abs(rgb_to_y(sr) - rgb_to_y(hr))
    heat = result.layers["error"].pixels.astype(int).sum(axis=2)
    assert heat[err == err.min()].mean() < heat[err > np.percentile(err, 99)].mean()


def test_without_ground_truth_the_consistency_check_is_shown(make_window, qtbot, tiny_model, tmp_path):
    from trainer.imageio import read_image
    from trainer.imresize import imresize
    from trainer.metrics import psnr_y

    src = write_image(tmp_path / "in" / "p.png", size=(28, 20), seed=9)
    window = make_window()
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.add_paths([src])
    result = window.readouts.result
    assert not result.has_ground_truth and window.readouts.table.isHidden()
    lr = read_image(src).pixels
    sr = read_image(result.output).pixels  # the file saved for the user
    expected = psnr_y(lr, imresize(sr, output_shape=lr.shape[:2]), shave=0)
    text = window.readouts.info.text()
    assert f"LR consistency of tiny_x4: {fmt_psnr(expected)} dB" in text
    assert "Input 28×20 → output 112×80 (x4)" in text and "Model tiny_x4 · device cpu" in text
    assert f"Saved to {result.output}" in text


def test_compare_two_models_puts_them_on_both_sides(make_window, qtbot, tiny_model, env_dirs, butterfly):
    from conftest import save_tiny_model

    save_tiny_model(env_dirs["user"] / "models" / "other.safetensors", seed=7)
    window = make_window(evaluate=True)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.add_paths([butterfly])
    window.settings.compare_model = "other"
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.actions_by_name["compare"].trigger()
    state = window.comparison
    assert (state.left, state.right) == ("sr", "sr2")
    assert state.layers["sr2"].title == "SR: other"
    assert not np.array_equal(state.layers["sr"].pixels, state.layers["sr2"].pixels)
    assert window.readouts.cell("SR: other", "PSNR") == fmt_psnr(window.readouts.result.scores["sr2"].psnr)
    from srgan_desktop.readouts import fmt_niqe

    assert window.readouts.cell("SR: other", "NIQE") == fmt_niqe(window.readouts.result.niqe["sr2"]) != "n/a"


def test_compare_reports_when_it_ends(make_window, qtbot, tiny_model, env_dirs, butterfly, tmp_path):
    from conftest import save_tiny_model

    save_tiny_model(env_dirs["user"] / "models" / "other.safetensors", seed=7)
    window = make_window(evaluate=True)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.add_paths([butterfly])
    window.settings.compare_model = "other"
    with qtbot.waitSignal(window.compare_done, timeout=60000) as done:
        window.compare_models()
    assert done.args == [""] and window.comparison.right == "sr2"
    # the model file vanished since it was chosen: the run ends with the reason, nothing shown changes
    window.settings.compare_model = str(tmp_path / "gone.safetensors")
    with qtbot.waitSignal(window.compare_done, timeout=60000) as done:
        window.compare_models()
    assert "gone.safetensors" in done.args[0]
    assert "Compare failed" in window.statusBar().currentMessage()


def test_niqe_of_each_picture_is_shown_and_computed_in_the_worker(make_window, qtbot, tiny_model, butterfly,
                                                                   tmp_path, monkeypatch):
    import threading

    import trainer.niqe
    from srgan_desktop.readouts import HR_LABEL, fmt_niqe

    threads, real = [], trainer.niqe.niqe

    def recording(img, shave=0):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(img, shave=shave)

    monkeypatch.setattr(trainer.niqe, "niqe", recording)
    window = make_window(evaluate=True)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.add_paths([butterfly])
    result = window.readouts.result
    assert set(result.niqe) == {"bicubic", "sr", "hr"} and threads and not any(threads)  # never the GUI thread
    for key, label in (("bicubic", "Bicubic"), ("sr", "SR: tiny_x4"), ("hr", HR_LABEL)):
        expected = real(result.layers[key].pixels, shave=4)  # 248x248 after the shave: two blocks a side
        assert result.niqe[key] == expected and window.readouts.cell(label, "NIQE") == fmt_niqe(expected) != "n/a"
    assert window.readouts.cell(HR_LABEL, "PSNR") == "–"
    assert result.niqe["hr"] < result.niqe["bicubic"]

    # Without ground truth the NIQE of the pictures is an info line; a small output has none.
    src = write_image(tmp_path / "in" / "p.png", size=(28, 20), seed=9)
    window = make_window()
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.add_paths([src])
    assert window.readouts.result.niqe == {"bicubic": None, "sr": None}
    text = window.readouts.info.text()
    assert "NIQE (no reference; lower = more natural): Bicubic n/a · SR: tiny_x4 n/a" in text
    assert "n/a under 192 pixels a side" in text
