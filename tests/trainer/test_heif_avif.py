"""Phone and web photo formats: HEIC/HEIF (pillow-heif) and AVIF (Pillow) are read, right way up,
treated as lossy photos by ``auto`` and written as JPEG under "same format"."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PIL import Image, features

from trainer.app.files import thumbnails
from trainer.imageio import ImageReadError, iter_image_files, read_image
from trainer.imageio import heif
from trainer.pipeline import AUTO, OutputRules, pick_models, plan_files, scan_inputs, sniff

pytest.importorskip("pillow_heif")

needs_avif = pytest.mark.skipif(not features.check("avif"), reason="this Pillow is built without libavif")


def _strip_image() -> Image.Image:
    """80 x 40, a white strip on the left: turned by EXIF orientation 6 (90 degrees clockwise) it is on top."""
    a = np.zeros((40, 80, 3), np.uint8)
    a[:, :20] = 255
    return Image.fromarray(a)


def _save(path, fmt: str, orientation: int = 6, icc: bytes | None = None):
    exif = Image.Exif()
    exif[0x0112] = orientation
    heif.register()
    extra = {"icc_profile": icc} if icc else {}
    _strip_image().save(path, fmt, quality=90, exif=exif.tobytes(), **extra)
    return path


@functools.cache
def _profile() -> bytes:
    """An ICC profile (Pillow's sRGB, carried as a phone's wide-gamut one would be). Made once: its
    header holds the time of creation, so two calls a second apart differ."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("fmt, name", [("HEIF", "phone.heic"), pytest.param("AVIF", "web.avif", marks=needs_avif)])
def test_read_right_way_up_and_sniffed_as_a_lossy_photo(tmp_path, fmt, name):
    path = _save(tmp_path / name, fmt)
    img = read_image(path)
    assert img.format == fmt and img.pixels.shape == (80, 40, 3)  # turned once, not twice
    top, bottom = img.pixels[:15].mean(), img.pixels[-50:].mean()
    assert top > 200 and bottom < 40
    s = sniff(path)
    assert (s.format, s.lossy, s.size) == (fmt, True, (40, 80))


def test_folders_list_them_and_thumbnails_decode_them(tmp_path):
    _save(tmp_path / "a.HEIC", "HEIF")
    (tmp_path / "notes.txt").write_text("x")
    assert [f.name for f, _ in iter_image_files([tmp_path])] == ["a.HEIC"]
    (thumb,) = thumbnails([(1, tmp_path / "a.HEIC")])
    assert not thumb.error and thumb.size == (40, 80) and thumb.pixels.shape[:2] == (80, 40)
    assert thumb.pixels[:15].mean() > 200 and thumb.pixels[-40:].mean() < 40  # right way up


def test_auto_gives_them_the_photo_model_and_same_format_writes_jpeg(clean_and_photo_zoo):
    from trainer.cli.upscale import main

    src = clean_and_photo_zoo / "in"
    src.mkdir()
    _save(src / "phone.heic", "HEIF", icc=_profile())
    plan = plan_files(scan_inputs([src]), OutputRules(clean_and_photo_zoo / "out"), pick_models(AUTO), lambda m: 4)
    assert [(p.source.path.name, p.model, p.output.name) for p in plan] == [("phone.heic", "photo_x4", "phone_x4.jpg")]
    assert main([str(src / "phone.heic"), "-o", str(clean_and_photo_zoo / "out"), "--device", "cpu", "-q"]) == 0
    with Image.open(clean_and_photo_zoo / "out" / "phone_x4.jpg") as out:
        assert out.format == "JPEG" and out.size == (160, 320)  # 4x the picture as it is seen (turned)
        assert out.getexif().get(0x0112, 1) == 1
        assert out.info.get("icc_profile") == _profile()  # a phone's colour profile is kept


def test_without_pillow_heif_a_heic_file_names_the_missing_package(tmp_path, monkeypatch):
    path = _save(tmp_path / "phone.heic", "HEIF")
    from PIL import Image as PILImage

    monkeypatch.setattr(heif, "_registered", False)
    monkeypatch.delitem(PILImage.OPEN, "HEIF")  # as if pillow-heif had never registered its opener
    with pytest.raises(ImageReadError, match="pillow-heif"):
        read_image(path)
    assert heif.missing_reason(tmp_path / "x.png") is None
