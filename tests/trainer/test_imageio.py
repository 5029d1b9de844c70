"""Image I/O: formats and modes, 16-bit, metadata, atomic and refused writes, errors, file listing."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, features

from trainer import imageio as tio
from trainer.imageio import bit16 as imageio_16bit
from trainer.imageio import read as tio_read
from trainer.imageio import write as tio_write
from trainer.imageio import (
    OUTPUT_FORMATS,
    SUPPORTED_SUFFIXES,
    ImageData,
    ImageReadError,
    ImageWriteError,
    iter_image_files,
    premultiply,
    read_image,
    save_image,
    unpremultiply,
)

RNG = np.random.default_rng(1234)
needs_webp = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")


def rand(shape, dtype=np.uint8):
    return RNG.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def srgb_profile() -> bytes:
    ImageCms = pytest.importorskip("PIL.ImageCms")
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def fake_profile(space: bytes) -> bytes:
    """Just an ICC header saying which colour space it is for (embedders do not validate)."""
    return bytes(16) + space + bytes(108)


def sample_exif(orientation: int = 1) -> bytes:
    ex = Image.Exif()
    ex[0x0112] = orientation
    ex[0x010F] = "TestCam"
    ex.get_ifd(0x8769)[0x9003] = "2021:02:03 04:05:06"
    return ex.tobytes()


def exif_tags(data: bytes | None) -> tuple[dict, dict]:
    ex = Image.Exif()
    ex.load(data)
    return dict(ex), dict(ex.get_ifd(0x8769))


def assert_same(img: ImageData, other: ImageData) -> None:
    assert img.pixels.dtype == other.pixels.dtype
    np.testing.assert_array_equal(img.pixels, other.pixels)
    assert (img.alpha is None) == (other.alpha is None)
    if img.alpha is not None:
        np.testing.assert_array_equal(img.alpha, other.alpha)


# --------------------------------------------------------------------------- round trips

LOSSLESS_CASES = [
    ("RGB", 3, False, np.uint8),
    ("RGBA", 3, True, np.uint8),
    ("L", 1, False, np.uint8),
    ("LA", 1, True, np.uint8),
    ("RGB;16", 3, False, np.uint16),
    ("RGBA;16", 3, True, np.uint16),
    ("I;16", 1, False, np.uint16),
    ("LA;16", 1, True, np.uint16),
]


@pytest.mark.parametrize("suffix", ["png", "tiff"])
@pytest.mark.parametrize(("mode", "channels", "with_alpha", "dtype"), LOSSLESS_CASES, ids=[c[0] for c in LOSSLESS_CASES])
def test_lossless_round_trip(tmp_path, suffix, mode, channels, with_alpha, dtype):
    img = ImageData(rand((13, 11, channels), dtype), rand((13, 11), dtype) if with_alpha else None)
    assert img.mode == mode
    back = read_image(save_image(img, tmp_path / f"out.{suffix}"))
    assert_same(img, back)
    assert back.mode == mode
    assert back.format == ("PNG" if suffix == "png" else "TIFF")
    assert back.source == tmp_path / f"out.{suffix}"


@pytest.mark.parametrize("channels", [1, 3])
def test_bmp_round_trip(tmp_path, channels):
    img = ImageData(rand((9, 7, channels)))
    assert_same(img, read_image(save_image(img, tmp_path / "out.bmp")))


@needs_webp
def test_webp_lossless_keeps_alpha_and_rounds_16_bit(tmp_path):
    px = rand((8, 8, 3), np.uint16)
    px[0, :4, 0] = [128, 129, 65535, 0]  # rounding edges: 128/257 -> 0, 129/257 -> 1
    al = rand((8, 8), np.uint16)
    back = read_image(save_image(ImageData(px, al), tmp_path / "out.webp", quality=100))
    assert back.pixels.dtype == np.uint8 and back.has_alpha
    np.testing.assert_array_equal(back.pixels, ((px.astype(np.uint32) + 128) // 257).astype(np.uint8))
    np.testing.assert_array_equal(back.pixels[0, :4, 0], [0, 1, 255, 0])
    np.testing.assert_array_equal(back.alpha, ((al.astype(np.uint32) + 128) // 257).astype(np.uint8))


@needs_webp
def test_webp_lossy_grey_becomes_rgb(tmp_path):
    grey = np.full((16, 16, 1), 100, np.uint8)
    back = read_image(save_image(ImageData(grey), tmp_path / "g.webp", quality=80))
    assert back.pixels.shape == (16, 16, 3)
    assert np.abs(back.pixels.astype(int) - 100).max() <= 3


def test_jpeg_grey_stays_grey_and_quality_matters(tmp_path):
    grey = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))[:, :, None]
    back = read_image(save_image(ImageData(grey), tmp_path / "g.jpg"))
    assert back.pixels.shape == (64, 64, 1) and back.mode == "L"
    assert np.abs(back.pixels.astype(int) - grey).mean() < 2
    noise = ImageData(rand((64, 64, 3)))
    small = save_image(noise, tmp_path / "q10.jpg", quality=10).stat().st_size
    large = save_image(noise, tmp_path / "q95.jpg", quality=95).stat().st_size
    assert small < large / 2


def test_jpeg_alpha_is_composited_on_white(tmp_path):
    px = np.zeros((16, 32, 3), np.uint16)  # black colour everywhere
    alpha = np.zeros((16, 32), np.uint16)
    alpha[:, 16:] = 65535  # left half transparent, right half opaque
    back = read_image(save_image(ImageData(px, alpha), tmp_path / "a.jpg"))
    assert not back.has_alpha and back.pixels.dtype == np.uint8
    assert back.pixels[:, :12].min() >= 250  # transparent -> white
    assert back.pixels[:, 20:].max() <= 5  # opaque black stays black


def test_palette_with_and_without_transparency(tmp_path):
    idx = np.arange(16, dtype=np.uint8).reshape(4, 4) % 4
    pal = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9] + [0] * (768 - 12)
    p = Image.frombytes("P", (4, 4), idx.tobytes())
    p.putpalette(pal)
    p.save(tmp_path / "opaque.png")
    p.save(tmp_path / "trans.png", transparency=1)
    opaque = read_image(tmp_path / "opaque.png")
    assert opaque.mode == "P" and not opaque.has_alpha and not opaque.palette_transparency
    np.testing.assert_array_equal(opaque.pixels[0, 0], [255, 0, 0])
    trans = read_image(tmp_path / "trans.png")
    assert trans.palette_transparency and trans.has_alpha and trans.pixels.shape == (4, 4, 3)
    np.testing.assert_array_equal(trans.alpha, np.where(idx == 1, 0, 255))


def test_colour_key_transparency_becomes_alpha(tmp_path):
    px = rand((6, 6, 3))
    px[2, 3] = [1, 2, 3]
    Image.fromarray(px).save(tmp_path / "key.png", transparency=(1, 2, 3))
    img = read_image(tmp_path / "key.png")
    assert img.has_alpha and img.alpha[2, 3] == 0
    assert (img.alpha == 0).sum() == int(np.all(px == [1, 2, 3], axis=2).sum())


def test_bilevel_becomes_grey(tmp_path):
    bits = (rand((8, 8)) > 127)
    Image.fromarray(bits).convert("1").save(tmp_path / "b.png")
    img = read_image(tmp_path / "b.png")
    assert img.mode == "1" and img.pixels.dtype == np.uint8
    np.testing.assert_array_equal(img.pixels[:, :, 0], np.where(bits, 255, 0))


def test_cmyk_jpeg_becomes_rgb_and_drops_cmyk_profile(tmp_path):
    cmyk = Image.frombytes("CMYK", (16, 16), np.tile(np.array([0, 255, 255, 0], np.uint8), 256).tobytes())
    cmyk.save(tmp_path / "c.jpg", quality=95, icc_profile=fake_profile(b"CMYK"))
    img = read_image(tmp_path / "c.jpg")
    assert img.mode == "CMYK" and img.pixels.shape == (16, 16, 3)
    assert img.icc_profile is None
    r, g, b = img.pixels.reshape(-1, 3).mean(axis=0)  # C=0 M=Y=255 is red
    assert r > 240 and g < 15 and b < 15


def test_integer_and_float_modes(tmp_path):
    Image.fromarray(np.array([[0, 70000]], np.int32)).save(tmp_path / "big.tif")
    Image.fromarray(np.array([[0, 4000]], np.int32)).save(tmp_path / "ok.tif")
    Image.fromarray(np.array([[0.5, 1.0]], np.float32)).save(tmp_path / "f.tif")
    ok = read_image(tmp_path / "ok.tif")
    assert ok.pixels.dtype == np.uint16 and ok.pixels[0, 1, 0] == 4000
    with pytest.raises(ImageReadError, match="outside 0..65535"):
        read_image(tmp_path / "big.tif")
    with pytest.raises(ImageReadError, match="floating-point"):
        read_image(tmp_path / "f.tif")


# --------------------------------------------------------------------------- 16-bit

def png16_reference(arr: np.ndarray, *, interlace: bool) -> bytes:
    """Independent 16-bit PNG encoder using every filter type (row y gets filter y % 5) and Adam7."""
    h, w, c = arr.shape
    bpp = 2 * c

    def filtered(img: np.ndarray) -> bytes:
        raw = img.astype(">u2").view(np.uint8).reshape(img.shape[0], -1).astype(np.int32)
        out, prev = bytearray(), np.zeros(raw.shape[1], np.int32)
        for y, row in enumerate(raw):
            ft = y % 5
            left = np.concatenate([np.zeros(bpp, np.int32), row[:-bpp]])
            upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
            pred = [0, left, prev, (left + prev) // 2, None][ft]
            if ft == 4:
                p = left + prev - upleft
                pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
                pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            out += bytes([ft]) + ((row - pred) % 256).astype(np.uint8).tobytes()
            prev = row
        return bytes(out)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        data = b"".join(filtered(arr[ys::dy, xs::dx]) for xs, ys, dx, dy in passes if arr[ys::dy, xs::dx].size)
    else:
        data = filtered(arr)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, {1: 0, 2: 4, 3: 2, 4: 6}[c], 0, 0, int(interlace))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("channels", [2, 3, 4])
@pytest.mark.parametrize("interlace", [False, True])
def test_16_bit_png_read_exactly_all_filters(tmp_path, channels, interlace):
    arr = rand((13, 11, channels), np.uint16)
    (tmp_path / "x.png").write_bytes(png16_reference(arr, interlace=interlace))
    img = read_image(tmp_path / "x.png")
    assert img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, arr[:, :, : 1 if channels == 2 else 3])
    if channels in (2, 4):
        np.testing.assert_array_equal(img.alpha, arr[:, :, -1])
    else:
        assert img.alpha is None


@pytest.mark.parametrize("channels", [2, 4])
def test_16_bit_png_output_decodes_in_plain_pillow(tmp_path, channels):
    """Our 16-bit PNG encoder checked by an independent decoder (Pillow keeps the high bytes)."""
    arr = rand((9, 14, channels), np.uint16)
    img = ImageData(arr[:, :, :-1], arr[:, :, -1])
    with Image.open(save_image(img, tmp_path / "x.png", dpi_scale=2)) as im:
        im.load()
        high = np.asarray(im)
    expected = (arr >> 8).astype(np.uint8)
    if channels == 2:  # Pillow shows 16-bit grey+alpha as RGBA (L, L, L, A)
        expected = expected[:, :, [0, 0, 0, 1]]
    np.testing.assert_array_equal(high, expected)


@pytest.mark.parametrize("suffix", ["png", "tiff"])
@pytest.mark.parametrize("channels", [1, 3])
def test_dark_16_bit_image_stays_16_bit(tmp_path, suffix, channels):
    dark = RNG.integers(0, 200, (9, 9, channels)).astype(np.uint16)  # max < 256
    img = read_image(save_image(ImageData(dark), tmp_path / f"dark.{suffix}"))
    assert img.bit_depth == 16 and img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, dark)


TIFF_LAYOUTS = {
    "contig-le": dict(photometric="rgb"),
    "contig-be": dict(photometric="rgb", byteorder=">"),
    "deflate": dict(photometric="rgb", compression="zlib"),
    "strips": dict(photometric="rgb", rowsperstrip=2),
    "planar": dict(photometric="rgb", planarconfig="separate"),
    "rgba": dict(photometric="rgb", extrasamples=["unassalpha"]),
    "grey-alpha": dict(photometric="minisblack", extrasamples=["unassalpha"], planarconfig="contig"),
}


@pytest.mark.parametrize("layout", list(TIFF_LAYOUTS))
def test_16_bit_tiff_layouts_read_exactly(tmp_path, layout):
    tifffile = pytest.importorskip("tifffile")
    kw = dict(TIFF_LAYOUTS[layout])
    channels = {"rgba": 4, "grey-alpha": 2}.get(layout, 3)
    arr = rand((10, 7, channels), np.uint16)
    data = np.moveaxis(arr, 2, 0) if kw.get("planarconfig") == "separate" else arr
    tifffile.imwrite(tmp_path / "x.tif", data, **kw)
    img = read_image(tmp_path / "x.tif")
    assert img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, arr[:, :, : 1 if channels == 2 else 3])
    if channels in (2, 4):
        np.testing.assert_array_equal(img.alpha, arr[:, :, -1])


def test_16_bit_tiff_associated_alpha_is_unpremultiplied(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    straight = np.full((4, 4, 3), 40000, np.uint16)
    alpha = np.full((4, 4), 32768, np.uint16)
    alpha[0, 0] = 0
    premul = np.rint(straight * (alpha[:, :, None] / 65535.0)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "p.tif", np.dstack([premul, alpha]), photometric="rgb", extrasamples=["assocalpha"])
    img = read_image(tmp_path / "p.tif")
    assert np.abs(img.pixels[1:, 1:].astype(int) - 40000).max() <= 2
    np.testing.assert_array_equal(img.pixels[0, 0], 0)
    np.testing.assert_array_equal(img.alpha, alpha)


# --------------------------------------------------------------------------- metadata

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    arr = rand((5, 8, 3))
    Image.fromarray(arr).save(tmp_path / "o.png", exif=sample_exif(orientation), dpi=(100, 200))
    img = read_image(tmp_path / "o.png")
    with Image.open(tmp_path / "o.png") as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(img.pixels, expected)
    assert exif_tags(img.exif)[0][0x0112] == 1
    swapped = orientation >= 5
    assert img.dpi == pytest.approx((200, 100) if swapped else (100, 200), abs=0.05)


def test_jpeg_orientation_6_is_rotated_once(tmp_path):
    arr = np.zeros((16, 32, 3), np.uint8)
    arr[:, 16:] = 255  # left half dark, right half bright
    Image.fromarray(arr).save(tmp_path / "o6.jpg", exif=sample_exif(6), quality=95)
    img = read_image(tmp_path / "o6.jpg")
    assert img.pixels.shape == (32, 16, 3)  # rotated 90 degrees clockwise for display: left -> top
    assert img.pixels[:12].mean() < 10 and img.pixels[20:].mean() > 245
    out = read_image(save_image(img, tmp_path / "again.jpg"))
    assert out.pixels.shape == (32, 16, 3)  # not rotated a second time
    assert exif_tags(out.exif)[0][0x0112] == 1


def test_caller_exif_orientation_is_reset_on_save(tmp_path):
    img = ImageData(rand((4, 6, 3)), exif=sample_exif(8))
    out = read_image(save_image(img, tmp_path / "x.png"))
    assert out.pixels.shape == (4, 6, 3)
    assert exif_tags(out.exif)[0][0x0112] == 1


SAVE_META = [("png", np.uint8), ("jpg", np.uint8), ("tiff", np.uint8), ("png", np.uint16), ("tiff", np.uint16)]


@pytest.mark.parametrize(("suffix", "dtype"), SAVE_META + [pytest.param("webp", np.uint8, marks=needs_webp)])
def test_icc_exif_kept_and_dpi_scaled(tmp_path, suffix, dtype):
    icc = srgb_profile()
    img = ImageData(rand((8, 8, 3), dtype), icc_profile=icc, exif=sample_exif(), dpi=(72.0, 96.0))
    out = read_image(save_image(img, tmp_path / f"m.{suffix}", dpi_scale=4))
    assert out.icc_profile == icc
    if suffix == "webp":
        assert out.dpi is None  # WebP has no resolution field
    else:
        assert out.dpi == pytest.approx((288.0, 384.0), abs=0.05)
    if (suffix, dtype) == ("tiff", np.uint16):
        return  # documented gap: tifffile cannot write EXIF into 16-bit colour TIFFs
    ifd0, exif_ifd = exif_tags(out.exif)
    assert ifd0[0x010F] == "TestCam" and exif_ifd[0x9003] == "2021:02:03 04:05:06"


def test_profile_that_does_not_match_the_data_is_dropped(tmp_path):
    grey_icc = fake_profile(b"GRAY")
    img = ImageData(rand((8, 8, 3)), icc_profile=grey_icc)
    assert read_image(save_image(img, tmp_path / "x.png")).icc_profile is None
    grey = ImageData(rand((8, 8, 1)), icc_profile=grey_icc)
    assert read_image(save_image(grey, tmp_path / "g.png")).icc_profile == grey_icc


def test_tiff_structure_tags_are_not_carried_as_exif(tmp_path):
    Image.fromarray(rand((6, 6, 3))).save(tmp_path / "s.tif", exif=sample_exif(), dpi=(50, 50))
    img = read_image(tmp_path / "s.tif")
    ifd0, exif_ifd = exif_tags(img.exif)
    assert ifd0[0x010F] == "TestCam" and exif_ifd[0x9003] == "2021:02:03 04:05:06"
    assert not {256, 257, 273, 279, 282} & set(ifd0)
    assert img.dpi == pytest.approx((50, 50))
    Image.fromarray(rand((6, 6, 3))).save(tmp_path / "nodpi.tif")
    assert read_image(tmp_path / "nodpi.tif").dpi is None  # Pillow would say (1, 1)


# --------------------------------------------------------------------------- writing rules

def test_atomic_write_leaves_only_the_target(tmp_path):
    out = save_image(ImageData(rand((5, 5, 3))), tmp_path / "sub" / "deeper" / "x.png")
    assert out == tmp_path / "sub" / "deeper" / "x.png"
    assert os.listdir(out.parent) == ["x.png"]
    if os.name == "posix":  # a normal file's permissions, not the 0600 of a private temp file
        umask = os.umask(0o022)
        os.umask(umask)
        assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_write_keeps_previous_file(tmp_path, monkeypatch, exc):
    target = tmp_path / "x.png"
    save_image(ImageData(rand((5, 5, 3))), target)
    before = target.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise exc

    monkeypatch.setattr(Image.Image, "save", broken_save)
    expected = ImageWriteError if isinstance(exc, Exception) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        save_image(ImageData(rand((5, 5, 3))), target, overwrite=True)
    if expected is ImageWriteError:
        assert str(target) in str(info.value) and "disk full" in str(info.value)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.png"]


def test_interrupted_16_bit_write_cleans_up(tmp_path, monkeypatch):
    def broken(fh, arr, **kwargs):
        fh.write(b"partial")
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(imageio_16bit, "write_png16", broken)
    with pytest.raises(ImageWriteError, match="encoder exploded"):
        save_image(ImageData(rand((5, 5, 3), np.uint16)), tmp_path / "x.png")
    assert os.listdir(tmp_path) == []


def test_no_overwrite_holds_even_if_the_file_appears_during_the_write(tmp_path, monkeypatch):
    target = tmp_path / "x.png"
    real_encode = tio_write.encode

    def racing_encode(image, fh, fmt, **kwargs):
        target.write_bytes(b"written by another job")
        real_encode(image, fh, fmt, **kwargs)

    monkeypatch.setattr(tio_write, "encode", racing_encode)
    with pytest.raises(ImageWriteError, match="already exists"):
        save_image(ImageData(rand((4, 4, 3))), target)
    assert target.read_bytes() == b"written by another job"
    assert os.listdir(tmp_path) == ["x.png"]


def test_refuses_to_overwrite_source_protected_and_existing(tmp_path):
    src = tmp_path / "in" / "photo.png"
    save_image(ImageData(rand((5, 5, 3))), src)
    img = read_image(src)
    original = src.read_bytes()
    for alias in (src, tmp_path / "in" / ".." / "in" / "photo.png"):
        with pytest.raises(ImageWriteError, match="source"):
            save_image(img, alias, overwrite=True)
    link = tmp_path / "hardlink.png"
    try:
        os.link(src, link)
    except OSError:
        pass
    else:
        with pytest.raises(ImageWriteError, match="source"):
            save_image(img, link, overwrite=True)
    other = tmp_path / "ground_truth.png"
    save_image(ImageData(rand((5, 5, 3))), other)
    with pytest.raises(ImageWriteError, match="protected"):
        save_image(ImageData(rand((5, 5, 3))), other, overwrite=True, protect=[str(other)])
    with pytest.raises(ImageWriteError, match="already exists"):
        save_image(ImageData(rand((5, 5, 3))), other)
    assert src.read_bytes() == original
    save_image(ImageData(rand((5, 5, 3))), other, overwrite=True)  # allowed when asked


def test_bad_save_arguments(tmp_path):
    img = ImageData(rand((4, 4, 3)))
    with pytest.raises(ImageWriteError, match="xyz"):
        save_image(img, tmp_path / "x.xyz")
    with pytest.raises(ImageWriteError, match="quality"):
        save_image(img, tmp_path / "x.jpg", quality=0)
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageWriteError, match="folder"):
        save_image(img, tmp_path / "folder.png", overwrite=True)
    assert save_image(img, tmp_path / "noext", format="JPG").read_bytes()[:2] == b"\xff\xd8"
    assert set(OUTPUT_FORMATS) == {"png", "jpg", "webp", "tiff"}


# --------------------------------------------------------------------------- unreadable files

def _unreadable(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nope.png"
    if kind == "directory":
        (tmp_path / "dir.png").mkdir()
        return tmp_path / "dir.png"
    if kind == "empty":
        (tmp_path / "empty.png").write_bytes(b"")
        return tmp_path / "empty.png"
    if kind == "text":
        (tmp_path / "notes.jpg").write_text("not an image at all\n" * 10)
        return tmp_path / "notes.jpg"
    if kind == "ico":  # GIF is read since issue 19; an icon is still an image format we do not read
        Image.fromarray(rand((16, 16, 3))).save(tmp_path / "icon.ico")
        return tmp_path / "icon.ico"
    full = tmp_path / f"full.{kind.split('-')[1]}"
    Image.fromarray(rand((64, 64, 3))).save(full)  # noise: nothing compresses away
    data = full.read_bytes()
    cut = tmp_path / f"cut.{kind.split('-')[1]}"
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "file not found"),
        ("directory", "folder"),
        ("empty", "empty file"),
        ("text", "not an image"),
        ("ico", "unsupported image format ICO"),
        ("truncated-png", "truncated"),
        ("truncated-jpg", "truncated"),
        ("truncated-bmp", "truncated"),
    ],
)
def test_unreadable_files_raise_one_error_type(tmp_path, kind, reason):
    path = _unreadable(tmp_path, kind)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(path) in str(info.value) and reason in str(info.value)
    assert info.value.path == path and reason in info.value.reason
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decompression_bomb_limit(tmp_path, monkeypatch):
    Image.fromarray(rand((20, 30, 3))).save(tmp_path / "big.png")
    assert read_image(tmp_path / "big.png").width == 30
    assert Image.MAX_IMAGE_PIXELS is None  # Pillow's nameless warning/error replaced by ours
    monkeypatch.setattr(tio_read, "MAX_PIXELS", 500)
    with pytest.raises(ImageReadError, match=r"image too large \(30 x 20 = .* MP, limit 0.0005 MP\)"):
        read_image(tmp_path / "big.png")
    tifffile = pytest.importorskip("tifffile")  # the tifffile path checks before decoding too
    tifffile.imwrite(tmp_path / "la.tif", rand((20, 30, 2), np.uint16), photometric="minisblack", extrasamples=["unassalpha"])
    with pytest.raises(ImageReadError, match=r"image too large \(30 x 20"):
        read_image(tmp_path / "la.tif")


def test_errors_pickle_with_path_and_reason():
    import pickle

    err = pickle.loads(pickle.dumps(ImageReadError("/x/y.png", "file not found")))
    assert (err.path, err.reason, str(err)) == (Path("/x/y.png"), "file not found", "/x/y.png: file not found")
    assert pickle.loads(pickle.dumps(ImageWriteError("a.png", "no"))).reason == "no"


# --------------------------------------------------------------------------- alpha maths, ImageData

def test_premultiply_and_unpremultiply():
    px = np.array([[[65535, 32768, 0], [65535, 65535, 65535]]], np.uint16)
    alpha = np.array([[32768, 0]], np.uint16)
    pm = premultiply(px, alpha)
    assert pm.dtype == np.float32 and pm.shape == (1, 2, 3)
    np.testing.assert_allclose(pm[0, 0], [0.5, 0.25, 0.0], atol=1e-4)
    np.testing.assert_array_equal(pm[0, 1], 0.0)
    back = unpremultiply(pm, alpha / np.float32(65535))
    np.testing.assert_allclose(back[0, 0], [1.0, 0.5, 0.0], atol=1e-4)
    np.testing.assert_array_equal(back[0, 1], 0.0)  # alpha 0 -> colour 0, no NaN
    over = unpremultiply(np.array([[[0.6, 0.2, 0.1]]], np.float32), np.array([[0.5]], np.float32))
    np.testing.assert_allclose(over[0, 0], [1.0, 0.4, 0.2], atol=1e-6)  # clipped to 1
    assert premultiply(np.full((2, 2, 1), 255, np.uint8), None).max() == 1.0


def test_imagedata_properties_and_validation():
    img = ImageData(np.zeros((3, 5), np.uint16), np.zeros((3, 5, 1), np.uint16))
    assert img.pixels.shape == (3, 5, 1) and img.alpha.shape == (3, 5)
    assert (img.height, img.width, img.is_grey, img.bit_depth, img.has_alpha) == (3, 5, True, 16, True)
    assert img.mode == "LA;16"
    with pytest.raises(ValueError, match="uint8 or uint16"):
        ImageData(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="alpha"):
        ImageData(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint16))
    with pytest.raises(ValueError, match="HxWx3"):
        ImageData(np.zeros((2, 2, 4), np.uint8))


# --------------------------------------------------------------------------- listing files

def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for rel in ["b.png", "a.JPG", "notes.txt", ".hidden.png", "sub/c.webp", "sub/deep/d.tif", ".cache/e.png"]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    return root


def test_iter_folder_recursive_sorted_and_filtered(tmp_path):
    root = _tree(tmp_path)
    found = list(iter_image_files([root]))
    assert [f.relative_to(root).as_posix() for f, _ in found] == ["a.JPG", "b.png", "sub/c.webp", "sub/deep/d.tif"]
    assert all(r == root for _, r in found)
    flat = list(iter_image_files([root], recursive=False))
    assert [f.name for f, _ in flat] == ["a.JPG", "b.png"]


def test_iter_files_globs_missing_and_duplicates(tmp_path):
    root = _tree(tmp_path)
    single = root / "sub" / "c.webp"
    out = list(iter_image_files([single, str(root / "**" / "*.tif"), str(root / "*.png"), single, tmp_path / "gone.png"]))
    assert out[0] == (single, single.parent)
    assert out[1] == (root / "sub" / "deep" / "d.tif", root)  # glob root: the part before the wildcard
    assert out[2] == (root / "b.png", root)  # hidden .hidden.png not matched
    assert out[3] == (tmp_path / "gone.png", tmp_path)  # reported, not raised
    assert len(out) == 4  # the duplicate was dropped
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(out[3][0])
    nothing = list(iter_image_files(str(root / "*.gif")))
    assert nothing == [(root / "*.gif", root)]
    with pytest.raises(ImageReadError, match="no image file matches"):
        read_image(nothing[0][0])
    assert ".png" in SUPPORTED_SUFFIXES and ".jpeg" in SUPPORTED_SUFFIXES
