"""Fuzz-style: seeded random corruptions of valid PNG/JPEG/WebP/TIFF/GIF files through the upscale pipeline.

Each corrupted file goes through the real pipeline in-process (sniff, plan, read, a tiny model,
atomic save) and must end in exactly one of two ways: a one-line reason (``failed``), or an output
that is written, decodes, has 4x the input's size and its colour layout; the input is never changed.
Never a traceback, never a hang (each case has an alarm; the whole test a budget of about a minute).
"""

from __future__ import annotations

import hashlib
import io
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import trainer.imageio.read as tio_read
from trainer.imageio import ImageReadError, read_image
from trainer.modelfile import save_model
from trainer.models import build_model
from trainer.pipeline import EngineCache, EngineSettings, FileDone, OutputRules, Source, pick_models, plan_files, run_plan

SEED = 19
CASES = 300
BUDGET_S = 50.0  # the cases stop here (at least MIN_CASES must have run); about a minute in all
MIN_CASES = 100
CASE_ALARM_S = 20  # one case taking this long is a hang


def _valid_files(rng: np.random.Generator) -> dict[str, bytes]:
    rgb = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, rng.integers(0, 256, (20, 24), dtype=np.uint8)])
    grey16 = rng.integers(0, 65536, (20, 24), dtype=np.uint16)

    def enc(im: Image.Image, fmt: str, **kw) -> bytes:
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        return buf.getvalue()

    frames = [Image.fromarray(np.roll(rgb, i, axis=1)) for i in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return {
        "rgb.png": enc(Image.fromarray(rgb), "PNG"),
        "rgba.png": enc(Image.fromarray(rgba), "PNG"),
        "grey16.png": enc(Image.fromarray(grey16), "PNG"),
        "photo.jpg": enc(Image.fromarray(rgb), "JPEG", quality=85),
        "lossy.webp": enc(Image.fromarray(rgb), "WEBP", quality=80),
        "alpha.webp": enc(Image.fromarray(rgba), "WEBP", lossless=True),
        "rgb.tif": enc(Image.fromarray(rgb), "TIFF"),
        "still.gif": enc(Image.fromarray(rgb).convert("P"), "GIF"),
        "anim.gif": gif.getvalue(),
    }


def _header_size_offsets(name: str, data: bytes) -> list[int]:
    """Where the width/height sit in the header (or near it) for this format."""
    if name.endswith(".png"):
        return [16, 20]  # IHDR width, height (4 bytes each)
    if name.endswith(".gif"):
        return [6, 8]  # logical screen width, height (2 bytes each)
    if name.endswith(".jpg"):
        sof = data.find(b"\xff\xc0")
        return [sof + 5, sof + 7] if sof >= 0 else [2]
    if name.endswith(".webp"):
        return [26, 28, 24]
    return [18, 30, 42]  # TIFF: somewhere in the first IFD entries


def _corrupt(name: str, data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    kind = rng.choice(["truncate", "flip", "size", "mixed"])
    buf = bytearray(data)
    if kind in ("truncate", "mixed"):
        buf = buf[: int(rng.integers(1, len(buf)))]
    if kind in ("flip", "mixed"):
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(buf)))
            buf[i] ^= 1 << int(rng.integers(0, 8))
    if kind == "size":
        off = int(rng.choice(_header_size_offsets(name, data)))
        width = int(rng.choice([1, 2, 4])) if off < len(buf) else 0
        value = int(rng.choice([0, 1, 255, 4096, 65535, 2**31 - 1, int(rng.integers(0, 2 ** (8 * width)))]))
        value &= (1 << (8 * width)) - 1
        order = "little" if name.endswith((".gif", ".webp")) or (name.endswith(".tif") and data[:2] == b"II") else "big"
        buf[off : off + width] = value.to_bytes(width, order)
    return str(kind), bytes(buf)


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang("a case took longer than its alarm")


@pytest.mark.slow
def test_random_corruptions_give_a_one_line_error_or_a_correct_output(tmp_path, monkeypatch):
    monkeypatch.setattr(tio_read, "MAX_PIXELS", 2_000_000)  # a header may claim any size: keep decodes small
    torch.manual_seed(0)
    model = save_model(build_model("srresnet", channels=4, num_blocks=1, scale=4, bicubic_skip=True),
                       tmp_path / "tiny.safetensors")
    engines = EngineCache(keep=1)
    settings = EngineSettings(device="cpu", precision="fp32")
    models = pick_models(str(model))
    rng = np.random.default_rng(SEED)
    valid = _valid_files(rng)
    names = sorted(valid)
    previous = signal.signal(signal.SIGALRM, _alarm)
    outcomes: dict[str, int] = {"written": 0, "failed": 0}
    start = time.perf_counter()
    done_cases = 0
    try:
        for case in range(CASES):
            if time.perf_counter() - start > BUDGET_S:
                break
            name = names[case % len(names)]
            kind, data = _corrupt(name, valid[name], rng)
            folder = tmp_path / f"c{case:03d}"
            folder.mkdir()
            src = folder / name
            src.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            out = tmp_path / "out" / f"c{case:03d}"
            what = f"case {case} ({name}, {kind})"
            signal.alarm(CASE_ALARM_S)
            try:
                plan = plan_files([Source(src)], OutputRules(out), models, lambda m: engines.scale(m, settings))
                events = list(run_plan(plan, engines, settings))
            finally:
                signal.alarm(0)
            done = [e for e in events if isinstance(e, FileDone)]
            assert len(done) == 1, what
            result = done[0]
            assert hashlib.sha256(src.read_bytes()).hexdigest() == digest, f"{what}: the input changed"
            written = sorted(p for p in out.rglob("*") if p.is_file()) if out.exists() else []
            if result.status == "failed":
                assert result.reason and "\n" not in result.reason and "Traceback" not in result.reason, what
                assert written == [], f"{what}: a failed file left {written}"
            else:
                assert result.status == "written", what
                assert written == [result.output], what  # no temporary file left beside it
                source = read_image(src)
                monkeypatch.setattr(tio_read, "MAX_PIXELS", 200_000_000)  # the output is 16x larger
                output = read_image(result.output)
                monkeypatch.setattr(tio_read, "MAX_PIXELS", 2_000_000)
                assert (output.height, output.width) == (4 * source.height, 4 * source.width), what
                assert output.is_grey == source.is_grey, what
                if result.output.suffix in (".png", ".webp", ".tiff"):
                    assert output.has_alpha == source.has_alpha, what
                assert output.pixels.dtype in (np.uint8, np.uint16), what
            outcomes[result.status] += 1
            done_cases += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert done_cases >= MIN_CASES, f"only {done_cases} cases within {BUDGET_S} s"
    # Both outcomes occur: some corruptions are harmless (a flipped bit in pixel data), most are not.
    assert outcomes["written"] > 0 and outcomes["failed"] > 0, outcomes


def test_the_valid_files_themselves_upscale(tmp_path):
    """The fuzz test's starting points are all readable (else it would only test failures)."""
    for name, data in _valid_files(np.random.default_rng(SEED)).items():
        (tmp_path / name).write_bytes(data)
        try:
            read_image(tmp_path / name)
        except ImageReadError as exc:  # pragma: no cover - the message says which
            pytest.fail(str(exc))
