"""Animated GIF, PNG (APNG) and WebP: reading every frame and writing an animation, atomically.

:func:`read_animation` gives each frame as the full canvas (Pillow composes GIF/APNG/WebP frames
with their disposal and blending), 8-bit RGB or RGBA: alpha is kept when any frame has
transparency. The frame durations (ms) and the loop count are kept. :func:`save_animation` writes
the frames as an animation of the same kind (GIF, APNG or animated WebP) through
:mod:`trainer.atomic`, with the same rules as ``save_image`` (never over the source or a protected
file, no overwrite unless asked). Every failure is an ``ImageReadError``/``ImageWriteError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from trainer.atomic import TempFileError, atomic_write
from trainer.imageio.types import ImageData, ImageReadError, ImageWriteError
from trainer.imageio.write import _same_file  # one same-file rule for stills and animations

ANIMATION_FORMATS = {"GIF": "gif", "PNG": "png", "WEBP": "webp"}
_DEFAULT_DURATION = 100  # ms, when a frame does not say


@dataclass
class Animation:
    """``frames``: each frame as the full canvas (8-bit RGB, or RGBA when any frame is
    transparent); ``durations``: ms per frame; ``loop``: 0 = forever, N = N times; ``format``:
    Pillow's name of the source format; ``source``: the file read."""

    frames: list[ImageData]
    durations: list[int]
    loop: int = 0
    format: str = "GIF"
    source: Path | None = None
    info: dict = field(default_factory=dict)


def read_animation(path: str | os.PathLike[str], max_pixels: int) -> Animation:
    """Every frame of an animated GIF/PNG/WebP; ``max_pixels`` bounds width x height x frames."""
    p = Path(path)
    try:
        with Image.open(p, formats=list(ANIMATION_FORMATS)) as im:
            fmt = str(im.format)
            n = int(getattr(im, "n_frames", 1))
            total = im.size[0] * im.size[1] * n
            if total > max_pixels:
                raise ImageReadError(p, f"animation too large ({im.size[0]} x {im.size[1]} x {n} frames = "
                                        f"{total / 1e6:.1f} MP, limit {max_pixels / 1e6:g} MP)")
            loop = int(im.info.get("loop", 0) or 0)
            arrays, durations = [], []
            for frame in ImageSequence.Iterator(im):
                arrays.append(np.asarray(frame.convert("RGBA")))
                durations.append(int(frame.info.get("duration", im.info.get("duration", _DEFAULT_DURATION)) or 0))
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(p, "not enough memory to decode this animation") from None
    except Exception as e:  # noqa: BLE001 - any decoder failure is "corrupt" for the user
        raise ImageReadError(p, f"truncated or corrupt animation ({type(e).__name__}: {e})") from None
    if not arrays:
        raise ImageReadError(p, "an animation without frames")
    transparent = any(bool((a[:, :, 3] < 255).any()) for a in arrays)
    frames = [ImageData(pixels=np.ascontiguousarray(a[:, :, :3]),
                        alpha=np.ascontiguousarray(a[:, :, 3]) if transparent else None, format=fmt, source=p)
              for a in arrays]
    return Animation(frames, durations, loop, fmt, p)


def save_animation(
    animation: Animation,
    path: str | os.PathLike[str],
    *,
    format: str,  # noqa: A002 - same name as save_image's
    quality: int = 95,
    overwrite: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``animation`` as an animated ``format`` ("gif", "png", "webp") atomically."""
    target = Path(path).expanduser()
    fmt = format.lower()
    if fmt not in ANIMATION_FORMATS.values():
        raise ImageWriteError(target, f"{fmt.upper()} cannot store an animation; use GIF, PNG or WebP")
    if fmt == "webp" and any(max(f.width, f.height) > 16383 for f in animation.frames):
        raise ImageWriteError(target, "too large for WebP, which stores at most 16383 px a side; save as PNG")
    others = [animation.source, *(Path(o).expanduser() for o in protect)]
    if any(o is not None and _same_file(target, Path(o)) for o in others):
        raise ImageWriteError(target, "refusing to overwrite the source or a protected file")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise ImageWriteError(target, "file already exists (overwrite not allowed)")
    images = []
    for f in animation.frames:
        alpha = f.alpha
        if alpha is not None and fmt == "gif":  # GIF transparency is on or off per pixel
            alpha = np.where(alpha >= 128, 255, 0).astype(np.uint8)
        arr = f.pixels if alpha is None else np.dstack([f.pixels, alpha])
        images.append(Image.fromarray(np.ascontiguousarray(arr)))
    kwargs: dict = {"save_all": True, "append_images": images[1:], "duration": animation.durations,
                    "loop": animation.loop}
    if fmt == "gif":
        kwargs["disposal"] = 2  # each frame is a full canvas: clear before the next
        kwargs["optimize"] = False
    elif fmt == "webp":
        kwargs.update(quality=int(quality), lossless=int(quality) >= 100)
    elif fmt == "png":
        kwargs.update(disposal=1, blend=0)  # APNG: each frame replaces the canvas
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, overwrite=overwrite, mkdir=False) as fh:
            images[0].save(fh, format=fmt.upper() if fmt != "png" else "PNG", **kwargs)
    except FileExistsError:
        raise ImageWriteError(target, "file already exists (overwrite not allowed)") from None
    except TempFileError as e:
        raise ImageWriteError(target, f"cannot create a file in {target.parent} ({e.strerror or e})") from None
    except OSError as e:
        raise ImageWriteError(target, f"could not write the animation ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - encoder failure
        raise ImageWriteError(target, f"could not write {fmt.upper()} ({type(e).__name__}: {e})") from None
    return target
