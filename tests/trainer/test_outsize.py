"""Output size independent of the model (issue 16 item 3): factor or target width/height, reached by
the model's scale and a final Lanczos resample; names, size limits, alpha, 16-bit, animations, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.cli.upscale import main
from trainer.imageio import ImageData, read_image
from trainer.imageio.resample import resample
from trainer.pipeline import OutputRules, OutputSize, OutputSizeError, pick_models, plan_files, sniff
from trainer.pipeline.scan import Source



@pytest.fixture(scope="module")
def model_path(tiny_model_path) -> Path:
    return tiny_model_path


def _rgb(path: Path, size=(20, 16), seed=0, fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, fmt)
    return path


def _run(inputs, out: Path, model: Path, *extra: str) -> int:
    return main([*map(str, inputs), "-o", str(out), "--model", str(model), "-q", *extra])


# -- the size rule --------------------------------------------------------------------------------
def test_sizes_labels_and_specs():
    assert OutputSize().target(20, 16, 4) == (80, 64) and OutputSize().scale_label((20, 16), 4) == "4"
    assert OutputSize(factor=2).target(20, 16, 4) == (40, 32) and OutputSize(factor=2).scale_label(None, 4) == "2"
    assert OutputSize(factor=1.5).target(21, 15, 4) == (32, 23)  # 31.5 and 22.5 round up
    assert OutputSize(width=1920).target(500, 333, 4) == (1920, 1279)
    assert OutputSize(width=1920).scale_label((500, 333), 4) == "3.84"
    assert OutputSize(width=1920).scale_label((640, 480), 4) == "3"
    assert OutputSize(height=100).target(30, 20, 2) == (150, 100)
    assert OutputSize(width=64).scale_label(None, 4) == "w64"  # size unknown from the header
    for size in (OutputSize(), OutputSize(factor=2), OutputSize(factor=1.5), OutputSize(width=1920), OutputSize(height=7)):
        assert OutputSize.parse(size.spec) == size
    assert OutputSize.parse("2x") == OutputSize.parse("x2") == OutputSize.parse("2") == OutputSize(factor=2.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 0.5}, "from 1 to 8"), ({"factor": 8.5}, "from 1 to 8"), ({"factor": float("nan")}, "from 1 to 8"),
    ({"width": 0}, "whole number of pixels"), ({"height": 2.5}, "whole number"),
    ({"factor": 2, "width": 10}, "choose one output size"),
])
def test_bad_sizes_are_refused(kwargs, match):
    with pytest.raises(OutputSizeError, match=match):
        OutputSize(**kwargs)


def test_a_target_outside_1x_to_8x_of_an_image_is_refused_with_the_reason():
    with pytest.raises(OutputSizeError, match=r"would shrink this 400 x 300 image \(0.25x\)"):
        OutputSize(width=100).target(400, 300, 4)
    with pytest.raises(OutputSizeError, match=r"is 10.0x this 10 x 8 image"):
        OutputSize(width=100).target(10, 8, 4)


# -- the resample ---------------------------------------------------------------------------------
def test_downscale_is_antialiased_and_16_bit_keeps_its_precision():
    # A one-pixel checkerboard shrunk 4x: point sampling would give pure black or white.
    board = ((np.indices((64, 64)).sum(axis=0) % 2) * 255).astype(np.uint8)
    small = resample(ImageData(np.repeat(board[:, :, None], 3, axis=2)), 16, 16).pixels
    assert small.shape == (16, 16, 3) and abs(float(small.mean()) - 127.5) < 3 and small.std() < 3
    ramp = np.linspace(1000, 1400, 40 * 30).reshape(30, 40).astype(np.uint16)
    up = resample(ImageData(np.dstack([ramp, ramp, ramp])), 80, 60)
    assert up.pixels.dtype == np.uint16 and up.bit_depth == 16
    assert np.unique(up.pixels).size > 300  # not collapsed to 8-bit steps (400 levels in the ramp)


def test_alpha_is_resampled_premultiplied():
    """Transparent pixels hide red; the visible half is blue: no red may bleed into the edge."""
    px = np.zeros((8, 8, 3), np.uint8)
    px[:, :4] = (255, 0, 0)
    px[:, 4:] = (0, 0, 255)
    alpha = np.zeros((8, 8), np.uint8)
    alpha[:, 4:] = 255
    out = resample(ImageData(px, alpha=alpha), 16, 16)
    visible = out.alpha > 0
    assert out.pixels[visible][:, 0].max() == 0 and out.pixels[out.alpha > 128][:, 2].min() == 255
    assert out.alpha[:, :3].max() == 0 and out.alpha[:, 13:].min() == 255  # Lanczos rings near the edge only


# -- planning -------------------------------------------------------------------------------------
def _scale4(_model: str) -> int:
    return 4


def test_plan_names_and_size_limits_use_the_final_size(tmp_path):
    src = _rgb(tmp_path / "cat.png")
    wide = _rgb(tmp_path / "wide.jpg", size=(10000, 8), fmt="JPEG")
    models = pick_models("m.safetensors")
    plan = plan_files([Source(src), Source(wide)], OutputRules(tmp_path / "o", size=OutputSize(factor=2)), models, _scale4)
    assert [p.output.name for p in plan] == ["cat_x2.png", "wide_x2.jpg"]
    assert plan[0].out_size == (40, 32) and plan[1].action == "write"  # 20000 px: within JPEG's limit
    big = plan_files([Source(wide)], OutputRules(tmp_path / "o", size=OutputSize(factor=8)), models, _scale4)[0]
    assert big.action == "fail" and "80000 x 64 px) is too large for JPEG" in big.reason
    # The same two rules plan the same names again: planning stays a pure function.
    again = plan_files([Source(src), Source(wide)], OutputRules(tmp_path / "o", size=OutputSize(factor=2)), models, _scale4)
    assert [p.output for p in again] == [p.output for p in plan]


def test_sniff_size_follows_the_exif_orientation(tmp_path):
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 20 x 10, shown 10 x 20
    Image.new("RGB", (20, 10)).save(path, exif=exif)
    assert sniff(path).size == (10, 20)
    assert read_image(path).width == 10


# -- srgan-upscale --------------------------------------------------------------------------------
def test_out_scale_2_on_a_x4_model_and_8x_resamples_the_model_output(tmp_path, model_path):
    src = _rgb(tmp_path / "in" / "cat.png")
    out = tmp_path / "out"
    assert _run([src], out, model_path, "--out-scale", "2") == 0
    assert read_image(out / "cat_x2.png").pixels.shape == (32, 40, 3)
    assert _run([src], out, model_path) == 0  # the model's scale: no resample, today's name
    x4 = read_image(out / "cat_x4.png")
    assert x4.pixels.shape == (64, 80, 3)
    assert _run([src], out, model_path, "--out-scale", "8") == 0
    x8 = read_image(out / "cat_x8.png")
    # Above the model's scale the model's output is resampled, the model does not run twice.
    assert np.array_equal(x8.pixels, resample(x4, 160, 128).pixels)
    assert _run([src], out, model_path, "--out-scale", "4") == 0  # same size as the model: the same bytes
    assert (out / "cat_x4-1.png").read_bytes() == (out / "cat_x4.png").read_bytes()


def test_one_x_float_factor_and_target_sizes(tmp_path, model_path):
    src = _rgb(tmp_path / "in" / "dog.png", size=(20, 16))
    out = tmp_path / "out"
    assert _run([src], out, model_path, "--out-scale", "1") == 0
    assert read_image(out / "dog_x1.png").pixels.shape == (16, 20, 3)
    assert _run([src], out, model_path, "--out-scale", "1.5") == 0
    assert read_image(out / "dog_x1.5.png").pixels.shape == (24, 30, 3)
    assert _run([src], out, model_path, "--out-width", "50") == 0
    assert read_image(out / "dog_x2.5.png").pixels.shape == (40, 50, 3)
    assert _run([src], out, model_path, "--out-height", "48", "--name", "{stem}-{scale}x") == 0
    assert read_image(out / "dog-3x.png").pixels.shape == (48, 60, 3)


def test_a_target_out_of_range_fails_that_file_and_the_batch_goes_on(tmp_path, model_path, capsys):
    small = _rgb(tmp_path / "in" / "small.png", size=(20, 16))
    large = _rgb(tmp_path / "in" / "large.png", size=(90, 40), seed=1)
    out = tmp_path / "out"
    assert _run([small, large], out, model_path, "--out-width", "80") == 1
    assert read_image(out / "small_x4.png").pixels.shape == (64, 80, 3)
    assert not (out / "large_x0.89.png").exists()
    assert "80 px wide would shrink this 90 x 40 image" in capsys.readouterr().out


def test_alpha_16_bit_and_animation_keep_their_kind_at_the_output_size(tmp_path, model_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (16, 20, 4), dtype=np.uint8)
    rgba[:, :8, 3] = 0
    rgba[:, 8:, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "clip.png")
    deep = rng.integers(0, 65536, (16, 20), dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")  # 16-bit grey
    frames = [Image.fromarray(rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)) for _ in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=[50, 60, 70], loop=0)
    out = tmp_path / "out"
    inputs = [tmp_path / "clip.png", tmp_path / "deep.png", tmp_path / "anim.gif"]
    assert _run(inputs, out, model_path, "--out-scale", "2") == 0
    assert _run([inputs[0]], out, model_path) == 0
    clip, x4 = read_image(out / "clip_x2.png"), read_image(out / "clip_x4.png")
    assert clip.pixels.shape == (32, 40, 3) and clip.alpha is not None
    expected = resample(x4, 40, 32)  # the model's RGBA output, resampled premultiplied
    assert np.array_equal(clip.alpha, expected.alpha) and np.array_equal(clip.pixels, expected.pixels)
    grey = read_image(out / "deep_x2.png")
    assert grey.pixels.shape == (32, 40, 1) and grey.bit_depth == 16
    with Image.open(out / "anim_x2.gif") as im:
        assert im.format == "GIF" and im.size == (40, 32) and im.n_frames == 3


@pytest.mark.parametrize("args, message", [
    (["--out-scale", "0.5"], "--out-scale: the output factor must be from 1 to 8, got 0.5"),
    (["--out-scale", "9"], "--out-scale: the output factor must be from 1 to 8"),
    (["--out-scale", "big"], "--out-scale: the output factor must be a number from 1 to 8 (e.g. 2 or 1.5), got 'big'"),
    (["--out-width", "0"], "--out-width: must be a whole number of pixels >= 1, got '0'"),
    (["--out-height", "12.5"], "--out-height: must be a whole number of pixels >= 1, got '12.5'"),
    (["--out-width", "100", "--out-scale", "2"], "not allowed with argument"),
])
def test_cli_refuses_bad_output_sizes(tmp_path, args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "x.png"), "-o", str(tmp_path / "o"), *args])
    assert exc.value.code == 2 and message in capsys.readouterr().err
