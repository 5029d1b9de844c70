"""The upscale pipeline: scanning, sniffing, planning (names, formats, collisions), auto model, events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainer import zoo
from trainer.cli.upscale import main
from trainer.modelfile import save_model
from trainer.models import build_model
from trainer.pipeline import (
    AUTO,
    EngineCache,
    EngineSettings,
    FileDone,
    FileStarted,
    OutputRules,
    Planner,
    Sniffed,
    Source,
    in_folder,
    output_format,
    pick_models,
    plan_files,
    run_plan,
    scan_inputs,
    sniff,
)


def _write(path: Path, fmt: str | None = None, size=(12, 10), seed=0, mode="RGB", **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], len(mode)), dtype=np.uint8)
    Image.fromarray(arr, mode).save(path, fmt, **save)
    return path


def _tiny(path: Path, seed: int, **meta) -> Path:
    torch.manual_seed(seed)
    model = build_model("srresnet", channels=4, num_blocks=1, scale=4, bicubic_skip=True)
    return save_model(model, path, metadata=meta)


@pytest.fixture
def shipped(tmp_path, monkeypatch) -> Path:
    """A temporary zoo shipping tiny ``srgan_x4`` and ``photo_x4`` (remove one to test fallbacks)."""
    models = tmp_path / "resources" / "models"
    monkeypatch.setenv("SRGAN_RESOURCES", str(tmp_path / "resources"))
    monkeypatch.setenv("SRGAN_USER_DIR", str(tmp_path / "user"))
    _tiny(models / "srgan_x4.safetensors", 0)
    _tiny(models / "photo_x4.safetensors", 1)
    return models


def _scale4(_model: str) -> int:
    return 4


# -- scanning: the tree rule ----------------------------------------------------------------------
def test_scan_keeps_a_folder_inputs_name_and_a_globs_tree(tmp_path):
    root = tmp_path / "photos"
    a, c = _write(root / "a.png"), _write(root / "2024" / "c.png")
    loose = _write(tmp_path / "loose.png")
    found = scan_inputs([root, loose], recursive=True)
    assert found == [Source(c, Path("photos/2024")), Source(a, Path("photos")), Source(loose, Path())]
    assert scan_inputs([root]) == [Source(a, Path("photos"))]  # not recursive: top level only
    assert scan_inputs([str(tmp_path / "photos" / "**" / "*.png")]) == [Source(c, Path("2024")), Source(a, Path())]
    assert in_folder(c, root) == Source(c, Path("photos/2024"))
    # Each file once, whichever input names it first.
    assert scan_inputs([a, root], recursive=True) == [Source(a, Path()), Source(c, Path("photos/2024"))]
    assert scan_inputs([tmp_path / "nope.png"]) == [Source(tmp_path / "nope.png")]  # reported when read


# -- sniffing and the format rule -----------------------------------------------------------------
def test_sniff_reads_the_header_and_tells_lossy_webp_from_lossless(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    im = Image.fromarray(rgba, "RGBA")
    cases = {
        "lossy_rgb.webp": ({"lossless": False}, "RGB"),  # simple file: 'VP8 ' chunk
        "lossy_alpha.webp": ({"lossless": False}, "RGBA"),  # VP8X, ALPH, then 'VP8 '
        "lossless.webp": ({"lossless": True}, "RGBA"),  # 'VP8L'
        "lossless_exif.webp": ({"lossless": True, "exif": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"}, "RGB"),
    }
    for name, (kw, mode) in cases.items():
        im.convert(mode).save(tmp_path / name, "WEBP", **kw)
    im.save(tmp_path / "anim.webp", "WEBP", save_all=True, append_images=[im.rotate(90)], lossless=False)
    assert sniff(tmp_path / "lossy_rgb.webp") == Sniffed("WEBP", True)
    assert sniff(tmp_path / "lossy_alpha.webp") == Sniffed("WEBP", True)
    assert sniff(tmp_path / "anim.webp") == Sniffed("WEBP", True)  # the first ANMF frame's chunk
    assert sniff(tmp_path / "lossless.webp") == Sniffed("WEBP", False)
    assert sniff(tmp_path / "lossless_exif.webp") == Sniffed("WEBP", False)
    assert sniff(_write(tmp_path / "jpeg_named.png", "JPEG")) == Sniffed("JPEG", True)  # content, not suffix
    assert sniff(_write(tmp_path / "p.png")) == Sniffed("PNG", False)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert sniff(tmp_path / "junk.png") == Sniffed(None)
    assert sniff(tmp_path / "missing.png") == Sniffed(None)


def test_output_format_rule():
    assert [output_format(Sniffed(f)) for f in ("PNG", "JPEG", "MPO", "WEBP", "TIFF", "BMP", "GIF", None)] == [
        "png", "jpg", "jpg", "webp", "tiff", "png", "png", "png"]
    assert output_format(Sniffed("JPEG"), "same") == "jpg" and output_format(Sniffed("JPEG"), "webp") == "webp"
    with pytest.raises(ValueError, match="output format"):
        output_format(Sniffed("PNG"), "gif")


# -- planning: names and collisions ---------------------------------------------------------------
def test_plan_renames_by_default_and_never_gives_one_name_twice(tmp_path):
    src = tmp_path / "in"
    x_jpg, x_jpeg = _write(src / "x.jpg", "JPEG"), _write(src / "x.jpeg", "JPEG", seed=1)
    out = tmp_path / "out"
    _write(out / "x_x4.jpg", "JPEG")  # a result of an earlier run
    models = pick_models("m")
    sources = [Source(x_jpg), Source(x_jpeg)]
    plan = plan_files(sources, OutputRules(out), models, _scale4)
    assert [(p.output.name, p.action, p.format) for p in plan] == [("x_x4-1.jpg", "write", "jpg"), ("x_x4-2.jpg", "write", "jpg")]
    skip = plan_files(sources, OutputRules(out, existing="skip"), models, _scale4)
    assert [(p.output.name, p.action) for p in skip] == [("x_x4.jpg", "skip"), ("x_x4-1.jpg", "write")]
    assert f"{out / 'x_x4.jpg'} exists" in skip[0].reason
    over = plan_files(sources, OutputRules(out, existing="overwrite"), models, _scale4)
    assert [(p.output.name, p.action, p.overwrite) for p in over] == [("x_x4.jpg", "write", True), ("x_x4-1.jpg", "write", True)]
    # Planning wrote nothing.
    assert sorted(p.name for p in out.iterdir()) == ["x_x4.jpg"]


def test_plan_never_targets_an_input(tmp_path):
    a = _write(tmp_path / "a.png")
    b = _write(tmp_path / "a-1.png", seed=1)  # the first free name would be this input
    models = pick_models("m")
    plan = plan_files([Source(a)], OutputRules(tmp_path, "{stem}"), models, _scale4, protect=[a, b])
    assert plan[0].output == tmp_path / "a-2.png" and plan[0].action == "write"
    refused = plan_files([Source(a)], OutputRules(tmp_path, "{stem}", existing="overwrite"), models, _scale4)[0]
    assert refused.action == "fail" and "refusing to overwrite an input file" in refused.reason


def test_a_planner_keeps_names_reserved_and_gives_a_source_its_own_name_again(tmp_path):
    a, b = _write(tmp_path / "in" / "a.png"), _write(tmp_path / "other" / "a.png", seed=1)
    planner = Planner(OutputRules(tmp_path / "out"), protect=[a, b])
    models = pick_models("m")
    first = planner.plan(Source(a), models, _scale4)
    # Nothing written yet (e.g. a failed file): another source still cannot take the name...
    assert planner.plan(Source(b), models, _scale4).output.name == "a_x4-1.png"
    # ...but the same source, retried, gets it back.
    assert planner.plan(Source(a), models, _scale4).output == first.output


# -- models: auto ---------------------------------------------------------------------------------
def test_auto_picks_photo_for_lossy_and_clean_otherwise(shipped):
    picker = pick_models(AUTO)
    assert (picker.clean, picker.photo, picker.notice) == ("srgan_x4", "photo_x4", "")
    assert picker.for_file(Sniffed("JPEG", True)) == "photo_x4"
    assert picker.for_file(Sniffed("WEBP", True)) == "photo_x4"
    assert picker.for_file(Sniffed("WEBP", False)) == "srgan_x4"
    assert picker.for_file(Sniffed("PNG", False)) == "srgan_x4" and picker.for_file(Sniffed(None)) == "srgan_x4"
    assert picker.for_evaluation() == "srgan_x4"
    mine = pick_models("photo_x4")  # a model the user picks always wins
    assert mine.for_file(Sniffed("PNG", False)) == "photo_x4" and mine.for_evaluation() == "photo_x4"


def test_auto_falls_back_without_the_photo_model(shipped):
    (shipped / "photo_x4.safetensors").unlink()
    picker = pick_models(AUTO)
    assert picker.for_file(Sniffed("JPEG", True)) == "srgan_x4"
    assert "photo_x4" in picker.notice and "srgan_x4 for every file" in picker.notice
    (shipped / "srgan_x4.safetensors").rename(shipped / "other_x4.safetensors")
    assert pick_models(AUTO).clean == "other_x4"  # no srgan_x4: the zoo's default model


def test_run_reports_each_file_with_the_model_used(shipped, tmp_path):
    src = tmp_path / "in"
    photo, clean = _write(src / "photo.jpg", "JPEG", seed=1), _write(src / "clean.png", seed=2)
    (src / "junk.png").write_bytes(b"not an image")
    engines = EngineCache()
    settings = EngineSettings(device="cpu")
    plan = plan_files(scan_inputs([src]), OutputRules(tmp_path / "out"), pick_models(AUTO),
                      lambda m: engines.scale(m, settings))
    events = list(run_plan(plan, engines, settings))
    started = [e for e in events if isinstance(e, FileStarted)]
    assert [(e.index, e.total, e.source.name, e.model) for e in started] == [
        (1, 3, "clean.png", "srgan_x4"), (2, 3, "junk.png", "srgan_x4"), (3, 3, "photo.jpg", "photo_x4")]
    done = {e.source.name: e for e in events if isinstance(e, FileDone)}
    out = tmp_path / "out" / "in"
    assert (done["photo.jpg"].status, done["photo.jpg"].output, done["photo.jpg"].model) == ("written", out / "photo_x4.jpg", "photo_x4")
    assert (done["clean.png"].status, done["clean.png"].output, done["clean.png"].model) == ("written", out / "clean_x4.png", "srgan_x4")
    assert done["junk.png"].status == "failed" and done["junk.png"].output is None and "not an image" in done["junk.png"].reason
    assert Image.open(out / "photo_x4.jpg").size == (48, 40)
    assert photo.is_file() and clean.is_file()


def test_cli_auto_is_the_default_and_says_once_when_it_falls_back(shipped, tmp_path, capsys):
    src = tmp_path / "in"
    _write(src / "a.jpg", "JPEG", seed=1)
    _write(src / "b.jpg", "JPEG", seed=2)
    _write(src / "c.png", seed=3)
    assert main([str(src), "-o", str(tmp_path / "out1"), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "3 upscaled, 0 skipped, 0 failed; models: photo_x4 2, srgan_x4 1" in captured.out
    assert "a_x4.jpg (photo_x4," in captured.err and "c_x4.png (srgan_x4," in captured.err
    assert "not installed" not in captured.err
    (shipped / "photo_x4.safetensors").unlink()
    assert main([str(src), "-o", str(tmp_path / "out2"), "--device", "cpu", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("photo_x4") == 1 and "using srgan_x4 for every file" in captured.err
    assert "models: srgan_x4 3" in captured.out
    # The user's choice wins over auto.
    assert main([str(src / "c.png"), "-o", str(tmp_path / "out3"), "--device", "cpu", "-q", "--model", "srgan_x4"]) == 0
    assert "models: srgan_x4 1" in capsys.readouterr().out


# -- what each model is for -----------------------------------------------------------------------
def test_intended_for_comes_from_the_table_or_the_file(shipped, tmp_path, monkeypatch):
    assert zoo.find_model("srgan_x4").intended_for == "clean images"
    assert zoo.find_model("photo_x4").intended_for == "photos: JPEG, noise"
    _tiny(shipped / "anime_x4.safetensors", 2, intended_for="drawings")
    assert zoo.find_model("anime_x4").intended_for == "drawings"
    _tiny(shipped / "srresnet_x4.safetensors", 3, intended_for="clean, sharp images")
    assert zoo.find_model("srresnet_x4").intended_for == "clean, sharp images"  # the file overrides the table
    user = _tiny(tmp_path / "user" / "models" / "mine.safetensors", 4)
    assert zoo.find_model("mine").intended_for == "" and zoo.find_model(str(user)).intended_for == ""
    with pytest.raises(ValueError, match="reserved"):
        zoo.check_name("auto")
    from trainer.cli.upscale import build_parser

    assert "photo_x4 (photos: JPEG, noise)" in " ".join(build_parser().format_help().split())
