"""Dataset evaluation (trainer.evaluation) and the srgan-eval command, run in-process."""

import json
import math
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from trainer.cli.evaluate import format_table, main
from trainer.evaluation import (
    EvaluationError,
    ImageEvaluated,
    SetEvaluated,
    SetStarted,
    evaluate_set,
    iter_evaluate_set,
    list_benchmark_sets,
    model_upscale_fn,
    resolve_dataset,
)
from trainer.metrics import prepare_pair, psnr_y, ssim_y


class NearestX4(nn.Module):
    """A tiny deterministic 'model': nearest-neighbour x``scale`` (its PSNR is easy to recompute)."""

    def __init__(self, scale: int = 4, fail: bool = False):
        super().__init__()
        self.scale = scale
        self.fail = fail
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        if self.fail:
            raise RuntimeError("boom")
        return x.repeat_interleave(self.scale, 2).repeat_interleave(self.scale, 3) + self.dummy


def nearest_np(lr: np.ndarray, scale: int = 4) -> np.ndarray:
    return lr.repeat(scale, 0).repeat(scale, 1)


@pytest.fixture
def image_folder(tmp_path):
    """Three small generated images: RGB, grey (mode L) and an odd size needing a crop."""
    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64]
    smooth = (127 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.uint8)
    Image.fromarray(np.stack([smooth, smooth[::-1], 255 - smooth], axis=2)).save(folder / "a.png")
    Image.fromarray(smooth).save(folder / "b_grey.png")
    Image.fromarray(rng.integers(0, 256, (43, 37, 3), dtype=np.uint8)).save(folder / "c.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def fake_zoo(monkeypatch):
    """Replace trainer.zoo by a module that knows 'nearest', 'nearest_x2' and 'broken' models."""
    import trainer

    from trainer.loaded_model import LoadedModel

    def load(name, device="cpu"):
        if name == "nearest":
            return LoadedModel(NearestX4(), "nearest", scale=4)
        if name == "nearest_x2":
            return LoadedModel(NearestX4(scale=2), "nearest", scale=2)
        if name == "broken":
            return LoadedModel(NearestX4(fail=True), "nearest", scale=4)
        raise LookupError(f"no model named {name!r}; known models: nearest, nearest_x2, broken")

    fake = types.ModuleType("trainer.zoo")
    fake.load = load
    monkeypatch.setitem(sys.modules, "trainer.zoo", fake)
    monkeypatch.setattr(trainer, "zoo", fake, raising=False)
    return fake


# --- trainer.evaluation -------------------------------------------------------------------------


def test_events_and_per_image_figures(image_folder):
    events = list(iter_evaluate_set(image_folder, None, 4))
    assert events[0] == SetStarted("mine", 3)
    images = [e for e in events if isinstance(e, ImageEvaluated)]
    assert [e.done for e in images] == [1, 2, 3] and all(e.total == 3 for e in images)
    assert [e.result.name for e in images] == ["a.png", "b_grey.png", "c.png"]  # notes.txt skipped
    assert isinstance(events[-1], SetEvaluated) and len(events) == 5
    result = events[-1].result
    assert result.images == 3 and result.name == "mine"
    assert result.psnr == pytest.approx(np.mean([r.psnr for r in result.per_image]))
    assert result.ssim == pytest.approx(np.mean([r.ssim for r in result.per_image]))
    # the smooth images are far easier for bicubic than the noise image
    assert result.per_image[0].psnr > result.per_image[2].psnr + 10


def test_model_upscale_fn_runs_the_model_on_the_whole_image(image_folder):
    result = evaluate_set(image_folder, model_upscale_fn(NearestX4(), "cpu"), 4)
    hr, lr = prepare_pair(np.asarray(Image.open(image_folder / "c.png")), 4)
    assert result.per_image[2].psnr == pytest.approx(psnr_y(hr, nearest_np(lr)), abs=1e-9)
    assert result.per_image[2].ssim == pytest.approx(ssim_y(hr, nearest_np(lr)), abs=1e-9)
    assert result.seconds_per_image > 0


def test_a_method_returning_the_wrong_size_is_an_error(image_folder):
    with pytest.raises(EvaluationError, match="a.png.*expected uint8"):
        evaluate_set(image_folder, lambda lr: lr, 4)


def test_perfect_reconstruction_gives_inf(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(folder / "flat.png")
    result = evaluate_set(folder, None, 4)  # bicubic of a constant image is exact
    assert result.psnr == math.inf and result.ssim == pytest.approx(1.0)


def test_resolve_dataset_errors(tmp_path):
    with pytest.raises(EvaluationError, match="no such folder"):
        resolve_dataset(tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(EvaluationError, match="not a folder"):
        resolve_dataset(tmp_path / "file.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    with pytest.raises(EvaluationError, match=r"empty: no images"):
        resolve_dataset(empty)


def test_resolve_benchmark_names(benchmarks):
    assert list_benchmark_sets() == ["Set5", "Set14", "BSD68"]
    assert resolve_dataset("set5") == ("Set5", benchmarks / "Set5")
    assert resolve_dataset(benchmarks / "BSD68")[0] == "BSD68"


def test_missing_benchmark_set_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_SHARED_DATA", str(tmp_path))
    with pytest.raises(EvaluationError, match="Set14 not found.*SRGAN_SHARED_DATA"):
        resolve_dataset("Set14")


# --- srgan-eval ---------------------------------------------------------------------------------


def test_cli_bicubic_on_set5_writes_json(benchmarks, tmp_path, capsys):
    out = tmp_path / "sub" / "r.json"
    assert main(["--datasets", "Set5", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data) == ["bicubic"] and list(data["bicubic"]) == ["Set5"]
    entry = data["bicubic"]["Set5"]
    assert set(entry) == {"psnr", "ssim", "images", "seconds_per_image"}
    assert entry["images"] == 5
    assert entry["psnr"] == pytest.approx(28.43, abs=0.02)
    assert entry["ssim"] == pytest.approx(0.8113, abs=0.002)
    assert entry["seconds_per_image"] > 0
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]  # no temp file left behind
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].split()[:3] == ["method", "set", "PSNR"]
    assert lines[1].split()[:4] == ["bicubic", "Set5", f"{entry['psnr']:.2f}", f"{entry['ssim']:.4f}"]
    assert "bicubic Set5" in captured.err  # per-image progress


def test_cli_models_and_folders(image_folder, tmp_path, fake_zoo, capsys):
    out = tmp_path / "r.json"
    assert main(["--model", "nearest", "--datasets", str(image_folder), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data) == ["bicubic", "nearest"]
    expected = evaluate_set(image_folder, lambda lr: nearest_np(lr), 4)
    assert data["nearest"]["mine"]["psnr"] == pytest.approx(expected.psnr, abs=1e-9)
    assert data["nearest"]["mine"]["images"] == 3
    assert data["bicubic"]["mine"]["psnr"] > data["nearest"]["mine"]["psnr"]  # bicubic beats nearest
    rows = capsys.readouterr().out.strip().splitlines()
    assert [r.split()[0] for r in rows[1:]] == ["bicubic", "nearest"]


def test_cli_inf_psnr_is_null_in_json(tmp_path, capsys):
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(folder / "flat.png")
    out = tmp_path / "r.json"
    assert main(["--datasets", str(folder), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["bicubic"]["flat"]["psnr"] is None
    assert "inf" in capsys.readouterr().out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]
    assert last.startswith("srgan-eval: error: ") and "Traceback" not in err
    assert err.count("error:") == 1
    return last


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--datasets", "{tmp}/nope"], "nope: no such folder"),
        (["--datasets", "{tmp}/empty"], "empty: no images"),
        (["--datasets", "{tmp}/empty", "--no-bicubic"], "no images"),  # checked before anything runs
        (["--datasets", "{tmp}/one", "--no-bicubic"], "nothing to evaluate"),
        (["--datasets", "{tmp}/one", "--scale", "0"], "--scale"),
        (["--datasets", "{tmp}/corrupt"], "bad.png"),
        (["--datasets", "{tmp}/one"], "x.png: image of 8x8 pixels after the 4-pixel shave is smaller than the 11x11"),
    ],
)
def test_cli_dataset_errors(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "one").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "one" / "x.png")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    assert message in _one_line_error(capsys)


@pytest.mark.parametrize(
    "model, message",
    [
        ("unknown_model", "known models: nearest"),
        ("broken", "model broken failed on a 8x8 image: boom"),
    ],
)
def test_cli_model_errors(tmp_path, capsys, fake_zoo, model, message):
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "x.png")
    assert main(["--model", model, "--datasets", str(tmp_path)]) == 1
    assert message in _one_line_error(capsys)


def test_cli_model_at_another_scale_than_the_one_asked(tmp_path, capsys, fake_zoo):
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "x.png")
    assert main(["--model", "nearest_x2", "--scale", "4", "--datasets", str(tmp_path)]) == 1
    assert "upscales x2, but --scale is 4" in _one_line_error(capsys)


def test_cli_models_of_different_scales_each_at_their_own(tmp_path, capsys, fake_zoo):
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    out = tmp_path / "r.json"
    assert main(["--model", "nearest", "nearest_x2", "--datasets", str(tmp_path), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert set(data) == {"bicubic x2", "bicubic x4", "nearest x4", "nearest_x2 x2"}
    for method, scale in (("bicubic x2", 2), ("nearest x4", 4), ("nearest_x2 x2", 2)):
        assert data[method][tmp_path.name]["scale"] == scale and method in table
    hr, lr = prepare_pair(np.asarray(Image.open(tmp_path / "x.png")), 2)
    assert data["nearest_x2 x2"][tmp_path.name]["psnr"] == pytest.approx(psnr_y(hr, nearest_np(lr, 2), shave=2), abs=1e-9)


def test_cli_bad_model_file_with_the_real_zoo(tmp_path, capsys):
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "x.png")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"this is not a model")
    assert main(["--model", str(bad), "--datasets", str(tmp_path)]) != 0
    assert f"cannot load model {bad}" in _one_line_error(capsys)


def test_cli_real_model_file_round_trip(tmp_path, capsys):
    from trainer.modelfile import save_model
    from trainer.models import build_model

    torch.manual_seed(0)
    model = build_model("srresnet", num_blocks=1, channels=4)
    path = save_model(model, tmp_path / "tiny.safetensors")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (32, 24, 3), dtype=np.uint8)).save(data_dir / "x.png")
    out = tmp_path / "r.json"
    assert main(["--model", str(path), "--datasets", str(data_dir), "--no-bicubic", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    expected = evaluate_set(data_dir, model_upscale_fn(model, "cpu"), 4)
    assert data["tiny"]["data"]["psnr"] == pytest.approx(expected.psnr, abs=1e-6)


def test_format_table_aligns_columns():
    table = format_table([("bicubic", "Set5", 28.4314, 0.81127, 0.031), ("a_long_name", "BSD68", 26.07, 0.6833, 1.5)])
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1  # right-aligned numbers end in the same column
    assert lines[1].index("Set5") == lines[2].index("BSD68") == lines[0].index("set")
    assert "28.43" in lines[1] and "0.8113" in lines[1]


def test_cli_same_folder_names_do_not_overwrite_each_other(tmp_path):
    folders = [tmp_path / "a" / "data", tmp_path / "b" / "data"]
    for i, folder in enumerate(folders):
        folder.mkdir(parents=True)
        Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(folder / "x.png")
    out = tmp_path / "r.json"
    assert main(["--datasets", *map(str, folders), "--json", str(out)]) == 0
    assert sorted(json.loads(out.read_text())["bicubic"]) == sorted(map(str, folders))
