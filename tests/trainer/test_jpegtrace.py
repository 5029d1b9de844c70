"""trainer.jpegtrace: JPEG traces in losslessly stored pixels, and auto's use of them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from trainer import jpegtrace
from trainer.jpegtrace import THRESHOLD, file_jpeg_evidence, has_jpeg_traces, jpeg_grid_evidence
from trainer.pipeline import AUTO, OutputRules, Sniffed, pick_models, plan_files, scan_inputs, sniff
from trainer.webdegrade import gaussian_blur


def photo_like(h: int = 136, w: int = 160, seed: int = 0) -> np.ndarray:
    """Smooth shapes, edges and fine texture, as in a photograph (never JPEG-compressed)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 120 + 60 * np.sin(xx / 9.0 + yy / 23.0) + 40 * (xx > w // 3)
    img = base[:, :, None] + gaussian_blur(rng.normal(0, 40, (h, w, 3)), 1.2)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def through_jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, subsampling=2)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_photo_that_never_was_jpeg_scores_under_the_threshold(seed):
    clean = photo_like(seed=seed)
    assert 0.0 <= jpeg_grid_evidence(clean) < THRESHOLD / 2
    noisy = np.clip(clean + np.random.default_rng(seed).normal(0, 4, clean.shape), 0, 255).astype(np.uint8)
    assert jpeg_grid_evidence(noisy) < THRESHOLD / 2


@pytest.mark.parametrize("quality", [40, 75, 95])
def test_decoded_jpegs_score_over_it_also_when_the_grid_is_shifted(quality):
    jpeg = through_jpeg(photo_like(), quality)
    assert jpeg_grid_evidence(jpeg) > THRESHOLD
    assert jpeg_grid_evidence(jpeg[3:, 5:]) > THRESHOLD  # a crop (or screenshot) moved the grid


def test_flat_tiny_and_resized_images_give_no_evidence():
    assert jpeg_grid_evidence(np.full((64, 64, 3), 90, np.uint8)) == pytest.approx(0.0, abs=1e-9)
    assert jpeg_grid_evidence(through_jpeg(photo_like(), 40)[:20, :20]) == 0.0  # under 24 px: cannot tell
    resized = np.asarray(Image.fromarray(through_jpeg(photo_like(), 75)).resize((144, 122), Image.BICUBIC))
    assert jpeg_grid_evidence(resized) < THRESHOLD  # resizing after decoding destroys the grid


def test_pixel_art_enlarged_8x_reads_as_jpeg_as_documented():
    art = np.random.default_rng(0).integers(0, 256, (16, 18, 3), dtype=np.uint8)
    assert jpeg_grid_evidence(np.kron(art, np.ones((8, 8, 1), np.uint8))) > THRESHOLD


def test_files_png_of_a_jpeg_grey_16_bit_and_unreadable(tmp_path):
    jpeg = through_jpeg(photo_like(), 70)
    Image.fromarray(jpeg).save(tmp_path / "was_jpeg.png")
    Image.fromarray(photo_like()).save(tmp_path / "clean.png")
    grey16 = (jpeg[..., 1].astype(np.uint16) * 257)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert has_jpeg_traces(tmp_path / "was_jpeg.png") and not has_jpeg_traces(tmp_path / "clean.png")
    assert has_jpeg_traces(tmp_path / "grey16.png")  # scaled to 8-bit levels, not clipped to white
    assert not has_jpeg_traces(tmp_path / "junk.png") and not has_jpeg_traces(tmp_path / "missing.png")
    with pytest.raises(OSError, match="junk.png"):
        file_jpeg_evidence(tmp_path / "junk.png")
    # The centre region is what the file holds (its grid kept): the file's figure is the array's.
    assert file_jpeg_evidence(tmp_path / "was_jpeg.png") == pytest.approx(jpeg_grid_evidence(jpeg))


def test_large_files_are_read_for_their_centre_region_only(tmp_path):
    big = np.tile(through_jpeg(photo_like(), 60), (5, 4, 1))  # 680 x 640: tiles keep the 8-px grid
    Image.fromarray(big).save(tmp_path / "big.png")
    top, left, h, w = jpegtrace.centre_region(big.shape)
    assert (h, w) == (jpegtrace.REGION, jpegtrace.REGION) and top % 8 == 0 and left % 8 == 0
    assert file_jpeg_evidence(tmp_path / "big.png") == pytest.approx(jpeg_grid_evidence(big[top:top + h, left:left + w]))


def test_auto_sends_a_png_with_jpeg_traces_to_the_photo_model(clean_and_photo_zoo):
    src = clean_and_photo_zoo / "in"
    src.mkdir()
    Image.fromarray(through_jpeg(photo_like(), 70)).save(src / "saved_from_jpeg.png")
    Image.fromarray(photo_like(seed=1)).save(src / "clean.png")
    auto = pick_models(AUTO)
    assert auto.for_file(sniff(src / "saved_from_jpeg.png"), src / "saved_from_jpeg.png") == "photo_x4"
    assert auto.for_file(sniff(src / "clean.png"), src / "clean.png") == "srgan_x4"
    assert auto.for_file(sniff(src / "saved_from_jpeg.png")) == "srgan_x4"  # without a path: the header alone
    assert pick_models("srgan_x4").for_file(sniff(src / "saved_from_jpeg.png"), src / "saved_from_jpeg.png") == "srgan_x4"
    assert not auto.is_photo(Sniffed(None), src / "saved_from_jpeg.png")  # unknown format: never read
    plan = plan_files(scan_inputs([src]), OutputRules(clean_and_photo_zoo / "out"), auto, lambda m: 4)
    assert {p.source.path.name: p.model for p in plan} == {"saved_from_jpeg.png": "photo_x4", "clean.png": "srgan_x4"}
