"""NIQE (trainer.niqe): the pristine model, MATLAB details, ordering on real photos, srgan-eval --niqe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from trainer.evaluation import read_rgb_u8
from trainer.metrics import bicubic_upscale, prepare_pair
from trainer.niqe import MIN_SIDE, PARAMS_FILE, features, niqe, niqe_grey, pristine_params, rgb_to_grey

SAMPLES = ("baboon", "lenna", "monarch", "zebra")  # Set14 photos with clear margins between the cases


def _photo(seed: int = 0, size: tuple[int, int] = (200, 260)) -> np.ndarray:
    """A smooth random RGB picture with some texture (deterministic)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((size[1], size[0]), Image.Resampling.BICUBIC), dtype=np.int16)
    img = img + rng.integers(-6, 7, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_the_pristine_model_ships_with_the_package_and_loads():
    assert PARAMS_FILE.is_file() and PARAMS_FILE.parent.name == "data"
    mu, cov = pristine_params()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)
    assert mu[0] == pytest.approx(2.6013, abs=1e-4)  # the release's first mean (shape of the MSCN fit)


def test_a_missing_parameter_file_is_named(tmp_path):
    missing = tmp_path / "niqe_pris_params.npz"
    with pytest.raises(FileNotFoundError, match="niqe_pris_params.npz"):
        pristine_params(missing)


def test_grey_is_matlab_rgb2gray_rounded():
    primaries = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0]]], dtype=np.uint8)
    assert rgb_to_grey(primaries).tolist() == [[76.0, 150.0, 29.0, 255.0, 0.0]]
    rgb = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    documented = np.floor(rgb.astype(float) @ [0.2989, 0.5870, 0.1140] + 0.5)  # MATLAB's documented weights
    grey = rgb_to_grey(rgb)
    assert np.all(grey == np.round(grey)) and np.mean(grey == documented) > 0.98  # differ only next to .5
    assert np.max(np.abs(grey - documented)) <= 1
    assert not np.array_equal(grey, np.round(16 + rgb.astype(float) @ [65.481, 128.553, 24.966] / 255))  # not Y
    assert niqe(rgb_to_grey(_photo()).astype(np.uint8)) == niqe(_photo())  # grey input is used as it is


def test_small_and_flat_images_have_no_figure():
    photo = _photo(size=(MIN_SIDE, 300))
    assert niqe(photo) is not None
    assert niqe(photo[:-1]) is None and niqe(photo[:, :MIN_SIDE - 1]) is None
    assert niqe(photo, shave=4) is None  # 184 rows are left after the shave
    assert niqe(np.full((300, 300, 3), 128, np.uint8)) is None  # every feature undefined
    with pytest.raises(ValueError):
        niqe(photo, shave=-1)


def test_blocks_are_cut_from_the_image_cropped_to_multiples_of_96():
    grey = rgb_to_grey(_photo(size=(200, 300)))
    assert features(grey).shape == (2 * 3, 36)  # 2 x 3 blocks of 96 px; 8 and 12 pixels dropped
    assert niqe_grey(grey) == niqe_grey(grey[:192, :288])


def test_deterministic_and_independent_of_memory_layout():
    photo = _photo(3, (240, 320))
    first = niqe(photo, shave=4)
    assert isinstance(first, float) and np.isfinite(first)
    assert niqe(photo, shave=4) == first
    wide = np.zeros((240, 640, 3), np.uint8)
    wide[:, ::2] = photo
    assert niqe(wide[:, ::2], shave=4) == first  # a strided view gives the same figure


def test_hr_is_more_natural_than_bicubic_and_bicubic_than_blur(benchmarks):
    for name in SAMPLES:
        hr, lr = prepare_pair(read_rgb_u8(benchmarks / "Set14" / f"{name}.png"), 4)
        blurred = np.asarray(Image.fromarray(hr).filter(ImageFilter.GaussianBlur(3)))
        scores = [niqe(img, shave=4) for img in (hr, bicubic_upscale(lr, 4), blurred)]
        assert scores[0] < scores[1] < scores[2], (name, scores)


def test_matches_the_matlab_release_on_basicsr_test_image(benchmarks):
    # Set14's baboon.png has the same 480x480 top-left corner (all that NIQE's 96-px blocks use) as
    # BasicSR's test image, whose MATLAB-release figure BasicSR publishes: 5.72957338 (R2021a), there
    # computed on the rounded Y channel (as the PIRM 2018 scripts do). The release itself uses rgb2gray.
    from trainer.metrics import rgb_to_y

    hr = read_rgb_u8(benchmarks / "Set14" / "baboon.png")
    assert niqe_grey(np.round(rgb_to_y(hr))) == pytest.approx(5.72957338, abs=1e-5)
    assert niqe(hr) == pytest.approx(5.749507, abs=1e-5)  # grey (this project's protocol): within 0.05 of it


def _folder_with(tmp_path, benchmarks):
    folder = tmp_path / "gt"
    folder.mkdir()
    Image.open(benchmarks / "Set14" / "zebra.png").save(folder / "zebra.png")
    Image.fromarray(_photo(size=(120, 140))).save(folder / "small.png")  # under two blocks: n/a
    return folder


def test_srgan_eval_niqe_column_and_json(benchmarks, tmp_path, capsys):
    from trainer.cli.evaluate import main

    folder = _folder_with(tmp_path, benchmarks)
    report = tmp_path / "eval.json"
    assert main(["--datasets", str(folder), "--niqe", "--json", str(report)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "NIQE" in lines[0].split() and "HR NIQE" in lines[0]
    entry = json.loads(report.read_text())["bicubic"]["gt"]
    hr, lr = prepare_pair(read_rgb_u8(folder / "zebra.png"), 4)
    expected = niqe(bicubic_upscale(lr, 4), shave=4)
    assert entry["niqe"] == pytest.approx(expected, abs=1e-12)  # the mean over the images that have one
    assert entry["hr_niqe"] == pytest.approx(niqe(hr, shave=4), abs=1e-12)
    assert entry["per_image"]["zebra.png"]["niqe"] == entry["niqe"]
    assert entry["per_image"]["small.png"] == {"niqe": None, "hr_niqe": None}
    row = lines[1].split()
    assert row[:2] == ["bicubic", "gt"] and f"{expected:.3f}" in row


def test_srgan_eval_without_niqe_prints_what_it_always_did(benchmarks, tmp_path, capsys, monkeypatch):
    from trainer.cli.evaluate import main

    calls = []
    monkeypatch.setattr("trainer.evaluation.niqe_score", lambda *a, **k: calls.append(a))
    report = tmp_path / "eval.json"
    assert main(["--datasets", str(_folder_with(tmp_path, benchmarks)), "--json", str(report)]) == 0
    assert "NIQE" not in capsys.readouterr().out and not calls
    assert "niqe" not in json.loads(report.read_text())["bicubic"]["gt"]

