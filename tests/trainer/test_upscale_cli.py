"""``srgan-upscale``: files, folders, globs, naming, formats, rename/skip/overwrite, bad files, exit codes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.cli.upscale import main
from trainer.imageio import read_image



@pytest.fixture(scope="module")
def model_path(tiny_model_path) -> Path:
    return tiny_model_path


def _write(path: Path, size=(20, 16), mode="RGB", seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = len(mode)
    arr = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode).save(path)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tree(tmp_path) -> Path:
    """in/a.png, in/b.jpg, in/sub/c.png, in/sub/deeper/d.png and a corrupt in/bad.png."""
    root = tmp_path / "in"
    _write(root / "a.png", seed=1)
    _write(root / "b.jpg", seed=2)
    _write(root / "sub" / "c.png", seed=3)
    _write(root / "sub" / "deeper" / "d.png", size=(9, 13), seed=4)
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return root


def test_folder_recursive_keeps_the_folder_and_its_tree_and_reports_bad_file(tree, tmp_path, model_path, capsys):
    before = {p: _digest(p) for p in tree.rglob("*") if p.is_file()}
    out = tmp_path / "out" / "new"  # created, parents too
    rc = main([str(tree), "-r", "-o", str(out), "--model", str(model_path), "-q"])
    assert rc == 1
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    # The input folder's own name is kept, as when the folder is dropped on the app.
    assert written == ["in/a_x4.png", "in/b_x4.jpg", "in/sub/c_x4.png", "in/sub/deeper/d_x4.png"]
    assert read_image(out / "in" / "sub" / "deeper" / "d_x4.png").pixels.shape == (52, 36, 3)
    assert {p: _digest(p) for p in tree.rglob("*") if p.is_file()} == before  # inputs untouched
    report = capsys.readouterr().out
    assert "4 upscaled, 0 skipped, 1 failed; models: tiny 4" in report and "bad.png (tiny)" in report


def test_not_recursive_takes_top_level_only_and_existing_outputs_get_free_names(tree, tmp_path, model_path, capsys):
    out = tmp_path / "out"
    assert main([str(tree / "a.png"), str(tree / "sub"), "-o", str(out), "--model", str(model_path), "-q"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a_x4.png", "sub/c_x4.png"]
    stamp = _digest(out / "a_x4.png")
    (out / "a_x4.png").write_bytes(b"old")
    # Default: nothing is lost and nothing is skipped silently, the new result gets the next free name.
    assert main([str(tree / "a.png"), "-o", str(out), "--model", str(model_path), "-q"]) == 0
    assert (out / "a_x4.png").read_bytes() == b"old" and _digest(out / "a_x4-1.png") == stamp
    assert "1 upscaled, 0 skipped" in capsys.readouterr().out
    # --skip-existing leaves the file alone and says so.
    assert main([str(tree / "a.png"), "-o", str(out), "--model", str(model_path), "-q", "--skip-existing"]) == 0
    report = capsys.readouterr().out
    assert "0 upscaled, 1 skipped" in report and f"{out / 'a_x4.png'} exists" in report
    assert (out / "a_x4.png").read_bytes() == b"old" and not (out / "a_x4-2.png").exists()
    assert main([str(tree / "a.png"), "-o", str(out), "--model", str(model_path), "-q", "--overwrite"]) == 0
    assert _digest(out / "a_x4.png") == stamp
    with pytest.raises(SystemExit) as exc:  # one rule at a time
        main([str(tree / "a.png"), "-o", str(out), "--skip-existing", "--overwrite"])
    assert exc.value.code == 2


def test_two_inputs_never_share_an_output_name(tmp_path, model_path):
    src = tmp_path / "in"
    _write(src / "x.jpg", seed=1)
    _write(src / "x.jpeg", seed=2)
    out = tmp_path / "out"
    for extra in ([], ["--overwrite"], ["--skip-existing"]):
        target = out / "-".join(extra or ["plain"])
        assert main([str(src / "x.jpg"), str(src / "x.jpeg"), "-o", str(target), "--model", str(model_path), "-q", *extra]) == 0
        assert sorted(p.name for p in target.iterdir()) == ["x_x4-1.jpg", "x_x4.jpg"]


def test_glob_naming_and_formats(tree, tmp_path, model_path):
    out = tmp_path / "out"
    args = [str(tree / "**" / "*.png"), "-o", str(out), "--model", str(model_path), "-q"]
    assert main(args + ["--suffix=-big", "--format", "webp", "--quality", "80"]) == 1  # bad.png matches too
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["a-big.webp", "sub/c-big.webp", "sub/deeper/d-big.webp"]
    assert Image.open(out / "a-big.webp").format == "WEBP"
    assert main([str(tree / "b.jpg"), "-o", str(out), "--model", str(model_path), "-q", "--name", "{model}_{stem}_{ext}", "--format", "tiff"]) == 0
    assert (out / "tiny_b_jpg.tiff").is_file()
    # The default format is the decoded one, whatever the suffix says.
    fake = tmp_path / "really_a_jpeg.png"
    Image.open(tree / "b.jpg").save(fake, "JPEG")
    assert main([str(fake), "-o", str(out), "--model", str(model_path), "-q"]) == 0
    assert Image.open(out / "really_a_jpeg_x4.jpg").format == "JPEG"


def test_never_writes_onto_an_input_even_with_overwrite(tree, model_path, capsys):
    target = tree / "a.png"
    digest = _digest(target)
    rc = main([str(target), "-o", str(tree), "--model", str(model_path), "-q", "--name", "{stem}", "--overwrite"])
    assert rc == 1 and _digest(target) == digest
    assert "refusing to overwrite" in capsys.readouterr().out


def test_modes_survive_the_cli(tmp_path, model_path):
    src = tmp_path / "in"
    _write(src / "rgba.png", mode="RGBA", seed=5)
    _write(src / "grey.png", mode="L", seed=6)
    deep = (np.random.default_rng(7).integers(0, 65536, (12, 10), dtype=np.uint16)).astype(np.uint16)
    Image.fromarray(deep).save(src / "deep.png")  # 16-bit grey (I;16)
    out = tmp_path / "out"
    assert main([str(src), "-o", str(out), "--model", str(model_path), "-q", "--tile", "8"]) == 0
    rgba, grey, deep16 = (read_image(out / "in" / f"{n}_x4.png") for n in ("rgba", "grey", "deep"))
    assert rgba.has_alpha and rgba.pixels.shape == (64, 80, 3)
    assert grey.is_grey and not grey.has_alpha and grey.pixels.shape == (64, 80, 1)
    assert deep16.bit_depth == 16 and deep16.pixels.shape == (48, 40, 1)


def test_tile_option_does_not_change_the_result(tmp_path, model_path):
    src = _write(tmp_path / "in" / "x.png", size=(45, 41), seed=8)
    whole, tiled = tmp_path / "whole", tmp_path / "tiled"
    assert main([str(src), "-o", str(whole), "--model", str(model_path), "-q", "--tile", "0"]) == 0
    assert main([str(src), "-o", str(tiled), "--model", str(model_path), "-q", "--tile", "12", "--device", "cpu", "--precision", "fp32"]) == 0
    a = read_image(whole / "x_x4.png").pixels.astype(int)
    b = read_image(tiled / "x_x4.png").pixels.astype(int)
    assert np.abs(a - b).max() <= 1


def test_missing_model_and_bad_arguments(tmp_path, tree, model_path, monkeypatch, capsys):
    monkeypatch.setenv("SRGAN_RESOURCES", str(tmp_path / "no_resources"))
    assert main([str(tree / "a.png"), "-o", str(tmp_path / "out")]) == 2
    assert "no shipped model" in capsys.readouterr().err
    assert main([str(tree / "a.png"), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "nope.safetensors")]) == 2
    assert "nope.safetensors" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(tree / "a.png"), "-o", str(tmp_path / "out"), "--name", "{nonsense}"])
    assert exc.value.code == 2
    assert main([str(tmp_path / "empty*.png"), "-o", str(tmp_path / "out"), "--model", str(model_path), "-q"]) == 1
    assert "no image file matches" in capsys.readouterr().out
