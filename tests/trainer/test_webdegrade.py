"""The seeded web-like degradation (trainer.webdegrade), blockiness (trainer.blockiness) and
``srgan-eval --degradation``."""

import io
import json
import math

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from trainer import webdegrade
from trainer.blockiness import blockiness
from trainer.cli.evaluate import main
from trainer.evaluation import evaluate_set
from trainer.metrics import bicubic_upscale
from trainer.webdegrade import (
    WebDegradation,
    crop_to_scale,
    draw_params,
    gaussian_blur,
    parse_degradation,
    web_degrade,
)

# IJG (libjpeg) standard luminance quantisation table, natural order (Annex K of the JPEG standard).
STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
])  # fmt: skip


def ijg_luma_table(quality: int) -> list[int]:
    """libjpeg's jpeg_quality_scaling + jpeg_add_quant_table (baseline) for ``quality``."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((STD_LUMA * scale + 50) // 100, 1, 255).tolist()


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 127 + 50 * np.sin(xx / 4.3) * np.cos(yy / 6.1)
    return np.clip(base[:, :, None] + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def capture_jpeg(monkeypatch):
    """Record every (image given to the encoder, JPEG bytes) pair that web_degrade produces."""
    calls = []
    real = webdegrade.encode_jpeg

    def encode(img, quality):
        data = real(img, quality)
        calls.append((img.copy(), data))
        return data

    monkeypatch.setattr(webdegrade, "encode_jpeg", encode)
    return calls


# --- the degradation ----------------------------------------------------------------------------


def test_deterministic_per_seed_and_index():
    hr = textured(64, 48)
    lr1, p1 = web_degrade(hr, 4, 3)
    lr2, p2 = web_degrade(hr.copy(), 4, 3)
    assert p1 == p2 and np.array_equal(lr1, lr2)
    # image index 2 of a base-seed-5 evaluation is seed 7
    h, lr3, p3 = WebDegradation(5).make_pair(hr, 4, 2)
    assert p3.seed == 7 and p3 == web_degrade(hr, 4, 7)[1]
    assert np.array_equal(lr3, web_degrade(hr, 4, 7)[0]) and np.array_equal(h, hr)


def test_different_seeds_differ():
    hr = textured(64, 64)
    (a, pa), (b, pb) = web_degrade(hr, 4, 0), web_degrade(hr, 4, 1)
    assert pa != pb and not np.array_equal(a, b)
    # base seeds shift the whole sequence: image 0 of web:1 is image 1 of web:0
    assert np.array_equal(WebDegradation(1).make_pair(hr, 4, 0)[1], WebDegradation(0).make_pair(hr, 4, 1)[1])


def test_parameters_drawn_in_range_and_in_the_documented_order():
    params = [draw_params(np.random.default_rng(s), s) for s in range(300)]
    assert all(0.2 <= p.blur_sigma < 1.2 and 0.0 <= p.noise_sigma < 8.0 for p in params)
    qualities = {p.jpeg_quality for p in params}
    assert qualities <= set(range(35, 91)) and {35, 90} <= qualities  # both ends reachable
    rng = np.random.default_rng(11)
    expected = (rng.uniform(0.2, 1.2), rng.uniform(0.0, 8.0), int(rng.integers(35, 91)))
    p = draw_params(np.random.default_rng(11), 11)
    assert (p.blur_sigma, p.noise_sigma, p.jpeg_quality) == expected


@pytest.mark.parametrize("shape, scale, lr_shape", [((64, 48), 4, (16, 12)), ((43, 37), 4, (10, 9)), ((30, 20), 3, (10, 6))])
def test_output_size_is_hr_over_scale(shape, scale, lr_shape):
    hr = crop_to_scale(textured(*shape), scale)
    lr, _ = web_degrade(hr, scale, 0)
    assert lr.dtype == np.uint8 and lr.shape == lr_shape + (3,)
    assert hr.shape[:2] == (lr_shape[0] * scale, lr_shape[1] * scale)


def test_grey_input_becomes_rgb():
    grey = textured(32, 32)[:, :, 0]
    lr, _ = web_degrade(grey, 4, 0)
    assert lr.shape == (8, 8, 3)


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_jpeg_quality_and_subsampling_really_applied(capture_jpeg, seed):
    lr, params = web_degrade(textured(96, 80), 4, seed)
    (_, data), = capture_jpeg
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        assert list(im.quantization[0]) == ijg_luma_table(params.jpeg_quality)
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
    assert np.array_equal(lr, webdegrade.decode_jpeg(data))  # the JPEG is the last step


def test_lower_quality_gives_smaller_files():
    img = textured(64, 64)
    sizes = [len(webdegrade.encode_jpeg(img, q)) for q in (35, 50, 70, 90)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_noise_level_matches_the_drawn_sigma_on_a_flat_image(capture_jpeg):
    flat = np.full((512, 512, 3), 128, np.uint8)
    seeds = [s for s in range(40) if draw_params(np.random.default_rng(s), s).noise_sigma > 2.0][:3]
    for seed in seeds:
        _, params = web_degrade(flat, 4, seed)
        noisy = capture_jpeg[-1][0].astype(np.float64) - 128.0  # blur and resize keep a flat image flat
        # rounding to uint8 adds uniform noise of variance 1/12
        assert np.std(noisy) == pytest.approx(math.sqrt(params.noise_sigma**2 + 1 / 12), rel=0.03)
        assert abs(np.mean(noisy)) < 0.1
        r = np.corrcoef(noisy.reshape(-1, 3).T)
        assert np.all(np.abs(r[np.triu_indices(3, 1)]) < 0.05)  # independent per channel


def test_gaussian_blur_radius_and_borders():
    impulse = np.zeros((21, 21))
    impulse[10, 10] = 1.0
    for sigma, radius in ((0.2, 1), (0.5, 2), (1.0, 3), (1.2, 4)):
        out = gaussian_blur(impulse, sigma)
        rows = np.nonzero(out[:, 10])[0]
        assert (rows.min(), rows.max()) == (10 - radius, 10 + radius)  # radius ceil(3 sigma)
        assert out.sum() == pytest.approx(1.0)
    edge = np.zeros((9, 9))
    edge[0, :] = 1.0
    # symmetric mirroring (dcba|abcd): the first row sees its own mirror image, weight 2 * g(1) + g(0)
    kernel = np.exp(-np.arange(-3, 4) ** 2 / 2.0)
    kernel /= kernel.sum()
    assert gaussian_blur(edge, 1.0)[0, 4] == pytest.approx(kernel[3] + kernel[2])
    assert np.allclose(gaussian_blur(np.full((5, 7, 3), 42.0), 1.2), 42.0)


def test_parse_degradation():
    assert parse_degradation("bicubic") is None
    assert parse_degradation("web") == WebDegradation(0)
    assert parse_degradation("web:7") == WebDegradation(7) and WebDegradation(7).key == "web:7"
    for bad in ("", "jpeg", "web:", "web:-1", "web:1.5", "Web", "web:7:1"):
        with pytest.raises(ValueError, match="bicubic, web or web:SEED"):
            parse_degradation(bad)


# --- blockiness ---------------------------------------------------------------------------------


def test_blockiness_about_one_without_blocks():
    yy, xx = np.mgrid[0:512, 0:512]
    # Gradients whose rounding pattern does not repeat every 32 px (xx // 2 would: a step of 1 on
    # every grid line, 0.5 on average elsewhere).
    ramp = np.round(0.23 * xx + 0.19 * yy).astype(np.uint8)  # max 215: no wrap-around
    assert blockiness(ramp, 4) == pytest.approx(1.0, abs=0.01)
    smooth = 127 + 50 * np.sin(xx / 7.3) + 40 * np.cos(yy / 9.1) + 20 * np.sin((xx + 2 * yy) / 16.4)
    assert blockiness(np.round(smooth).astype(np.uint8), 4) == pytest.approx(1.0, abs=0.05)
    assert blockiness(np.full((64, 64, 3), 7, np.uint8), 4) == 1.0  # no steps at all


def test_blockiness_high_for_32px_blocks():
    yy, xx = np.mgrid[0:256, 0:256]
    levels = np.random.default_rng(0).integers(40, 200, (8, 8))
    blocks = levels[yy // 32, xx // 32] + 3 * np.sin(xx / 2.3) * np.cos(yy / 1.9)  # flat blocks, faint texture
    assert blockiness(np.clip(blocks, 0, 255).astype(np.uint8), 4) > 5
    # the grid is 8 * scale: the same image seen as x2 output has its blocks on a 16-px grid
    assert blockiness(np.clip(blocks, 0, 255).astype(np.uint8), 2) > 2
    # blocks that are off the grid (shifted by 16 px) are not counted as grid steps
    shifted = np.clip(np.roll(blocks, 16, axis=(0, 1)), 0, 255).astype(np.uint8)
    assert blockiness(shifted, 4) < 0.5


def test_blockiness_grid_is_anchored_before_the_shave_and_small_images_are_nan():
    img = np.zeros((40, 40), np.uint8)
    img[:, 32:] = 100  # one step exactly on the grid, between columns 31 and 32
    img[:, :4] = 200  # a step inside the shaved border: ignored
    assert blockiness(img, 4) == math.inf
    assert math.isnan(blockiness(np.zeros((36, 36), np.uint8), 4))  # no grid line inside the shave


def test_bicubic_of_web_lr_is_blockier_than_hr(benchmarks):
    from trainer.evaluation import image_files, read_rgb_u8

    hr = crop_to_scale(read_rgb_u8(image_files(benchmarks / "Set5")[0]), 4)
    lr, _ = web_degrade(hr, 4, 1)  # quality 36
    assert blockiness(bicubic_upscale(lr, 4), 4) > blockiness(hr, 4) + 0.1


# --- srgan-eval --degradation ---------------------------------------------------------------------


def test_cli_web_on_set5(benchmarks, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["--datasets", "Set5", "--degradation", "web", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data["bicubic"]) == ["Set5@web:0"]
    entry = data["bicubic"]["Set5@web:0"]
    assert set(entry) == {"psnr", "ssim", "images", "seconds_per_image", "blockiness", "hr_blockiness", "degradation",
                          "per_image"}
    assert entry["images"] == 5 and entry["degradation"] == "web:0"
    # Per image: the figures whose means the entry holds, and the parameters drawn with seed 0 + i.
    per = entry["per_image"]
    assert sorted(per) == sorted(p.name for p in (benchmarks / "Set5").iterdir())
    assert sum(r["psnr"] for r in per.values()) / 5 == pytest.approx(entry["psnr"], abs=1e-9)
    assert sum(r["blockiness"] for r in per.values()) / 5 == pytest.approx(entry["blockiness"], abs=1e-9)
    first = per[sorted(per)[0]]
    drawn = draw_params(np.random.default_rng(0), 0)
    assert (first["seed"], first["jpeg_quality"]) == (0, drawn.jpeg_quality)
    assert (first["blur_sigma"], first["noise_sigma"]) == (drawn.blur_sigma, drawn.noise_sigma)
    assert 20 < entry["psnr"] < 28.43  # harder than the clean protocol
    assert entry["blockiness"] > entry["hr_blockiness"] > 0.8
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[-3:] == ["blockiness", "HR", "blockiness"]
    assert lines[1].split()[:2] == ["bicubic", "Set5@web:0"]
    assert lines[1].split()[-2:] == [f"{entry['blockiness']:.3f}", f"{entry['hr_blockiness']:.3f}"]


def test_cli_web_seed_is_the_base_seed(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(textured(48, 40, seed=i)).save(folder / f"{i}.png")
    out = tmp_path / "r.json"
    assert main(["--datasets", str(folder), "--degradation", "web:7", "--json", str(out)]) == 0
    entry = json.loads(out.read_text())["bicubic"]["mine@web:7"]
    seven = evaluate_set(folder, None, 4, degradation=WebDegradation(7))
    zero = evaluate_set(folder, None, 4, degradation=WebDegradation(0))
    assert [r.params.seed for r in seven.per_image] == [7, 8, 9]
    assert entry["psnr"] == pytest.approx(seven.psnr, abs=1e-9) and entry["degradation"] == "web:7"
    assert seven.psnr != zero.psnr


def test_cli_bad_degradation_is_a_one_line_usage_error(capsys):
    assert main(["--datasets", "Set5", "--degradation", "jpeg"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("srgan-eval: error: argument --degradation:")
    assert "bicubic, web or web:SEED" in err[-1] and sum("error" in line for line in err) == 1


def test_clean_evaluation_computes_no_blockiness(tmp_path):
    Image.fromarray(textured(64, 64)).save(tmp_path / "x.png")
    result = evaluate_set(tmp_path, None, 4)
    assert result.blockiness is None and result.degradation == "bicubic"
    assert result.per_image[0].blockiness is None and result.per_image[0].params is None
