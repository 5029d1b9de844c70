"""Issue 19's hostile cases: non-finite models, symlink loops, output inside input, unreadable
folders, wrong or unreadable model files, oversized architectures (one line each, the batch goes on)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from trainer import models
from trainer.cli.upscale import main as upscale_main
from trainer.imageio import ImageData, read_image
from trainer.inference import NonFiniteOutputError, Upscaler
from trainer.modelfile import ModelFileError, load_model, save_model
from trainer.models import ModelTooLargeError, build_model, check_size, estimate
from trainer.pipeline import EngineSettings, OutputRules, PlannedFile, Sniffed, Source, process_file


def _write(path: Path, size=(12, 10), seed=0, fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, fmt)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = build_model("srresnet", channels=4, num_blocks=1, scale=4, bicubic_skip=True)
    return save_model(model, tmp_path_factory.mktemp("m") / "tiny.safetensors")


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = upscale_main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


# -- (3) non-finite output ------------------------------------------------------------------------
class NaNModel(nn.Module):
    """x4 nearest upscale that turns bright images into NaN (finite on dark ones)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x):
        y = nn.functional.interpolate(x, scale_factor=4, mode="nearest") * self.w
        return torch.where(x.mean() > 0.25, torch.full_like(y, float("nan")), y)


def test_upscaler_refuses_non_finite_output():
    engine = Upscaler(NaNModel(), device="cpu", tile=0)
    dark = np.zeros((8, 8, 3), np.uint8)
    assert engine.upscale_array(dark).shape == (32, 32, 3)
    with pytest.raises(NonFiniteOutputError):
        engine.upscale_array(np.full((8, 8, 3), 200, np.uint8))


class _Engines:
    """A stand-in for EngineCache around one bare module."""

    def __init__(self, module: nn.Module) -> None:
        self.engine = Upscaler(module, device="cpu", tile=0)

    def get(self, model, settings=None):
        return self.engine

    def for_image(self, model, settings, height, width):
        return self.engine


def test_non_finite_output_fails_the_file_and_writes_nothing(tmp_path):
    src = _write(tmp_path / "bright.png")
    Image.fromarray(np.full((10, 12, 3), 220, np.uint8)).save(src)
    out = tmp_path / "out" / "bright_x4.png"
    planned = PlannedFile(Source(src), Sniffed("PNG", False), "nan", "nan", 4, "png", 95, out, "write")
    events = list(process_file(planned, _Engines(NaNModel()), EngineSettings(device="cpu")))
    done = events[-1]
    assert done.status == "failed" and "non-finite" in done.reason and done.output is None
    assert not out.exists() and not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def _with_weights(tmp_path: Path, name: str, change) -> Path:
    torch.manual_seed(0)
    model = build_model("srresnet", channels=4, num_blocks=1, scale=4)
    with torch.no_grad():
        change(model.module)
    return save_model(model, tmp_path / name)


def test_a_model_with_nan_weights_or_non_finite_output_is_refused_at_load(tmp_path, capsys):
    nan = _with_weights(tmp_path, "nan.safetensors", lambda m: m.tail.weight.fill_(float("nan")))
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(nan)
    huge = _with_weights(tmp_path, "huge.safetensors", lambda m: (m.tail.weight.fill_(3e38), m.tail.bias.fill_(3e38)))
    with pytest.raises(ModelFileError, match="produces NaN or infinite values on a test image"):
        load_model(huge)
    img = _write(tmp_path / "in" / "a.png")
    rc, out, err = _run(capsys, img, "-o", tmp_path / "out", "--model", huge, "-q")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "huge.safetensors" in err
    assert not (tmp_path / "out" / "a_x4.png").exists()


def test_eval_refuses_non_finite_output_instead_of_a_psnr(tmp_path, capsys):
    from trainer.cli.evaluate import CliError, _reporting, main as eval_main
    from trainer.evaluation import evaluate_set, model_upscale_fn

    folder = tmp_path / "gt"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(_write(folder / "a.png"))
    with pytest.raises(CliError, match="non-finite"):
        evaluate_set(folder, _reporting("nan", model_upscale_fn(NaNModel())), 4)
    bad = _with_weights(tmp_path, "bad.safetensors", lambda m: m.tail.weight.fill_(float("nan")))
    assert eval_main(["--model", str(bad), "--datasets", str(folder), "--no-bicubic", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "NaN" in err and len(err.strip().splitlines()) == 1


# -- (1) symlink loops ----------------------------------------------------------------------------
def test_a_symlink_loop_among_the_inputs_fails_alone(tmp_path, tiny, capsys):
    a, b = _write(tmp_path / "in" / "a.png", seed=1), _write(tmp_path / "in" / "b.png", seed=2)
    loop1, loop2 = tmp_path / "in" / "loop.png", tmp_path / "in" / "loop2.png"
    os.symlink(loop2, loop1)
    os.symlink(loop1, loop2)
    out = tmp_path / "out"
    rc, summary, _ = _run(capsys, a, loop1, b, "-o", out, "--model", tiny, "-q")
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_x4.png", "b_x4.png"]
    assert summary.startswith("2 upscaled, 0 skipped, 1 failed") and "loop.png" in summary
    # The same loop found in a folder scan (recursive or not).
    rc, summary, _ = _run(capsys, tmp_path / "in", "-r", "-o", tmp_path / "out2", "--model", tiny, "-q")
    assert rc == 1 and summary.startswith("2 upscaled, 0 skipped, 2 failed")


# -- (5) output folder inside the input folder ----------------------------------------------------
def test_recursive_runs_never_descend_into_the_output_folder(tmp_path, tiny, capsys):
    root = tmp_path / "photos"
    _write(root / "a.png")
    out = root / "upscaled"
    for run in range(2):
        rc, summary, _ = _run(capsys, root, "-r", "-o", out, "--model", tiny, "-q")
        assert rc == 0 and summary.startswith("1 upscaled"), summary
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["photos/a_x4-1.png", "photos/a_x4.png"]  # never a_x4_x4, never deeper


# -- (4) unreadable sub-folders -------------------------------------------------------------------
def test_an_unreadable_sub_folder_is_reported_and_counted(tmp_path, tiny, capsys, monkeypatch):
    root = tmp_path / "in"
    _write(root / "a.png")
    _write(root / "locked" / "b.png")
    real = os.scandir

    def scandir(path="."):
        if Path(path) == root / "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    rc, summary, _ = _run(capsys, root, "-r", "-o", tmp_path / "out", "--model", tiny, "-q")
    assert rc == 1
    assert summary.startswith("1 upscaled, 0 skipped, 1 failed")
    assert "locked" in summary and "cannot read this folder (Permission denied)" in summary
    # Not recursive, the folder given itself unreadable: reported by name too.
    rc, summary, _ = _run(capsys, root / "locked", "-o", tmp_path / "out", "--model", tiny, "-q")
    assert rc == 1 and "locked" in summary and "Permission denied" in summary


def test_a_folder_without_images_is_reported_by_name(tmp_path, tiny, capsys):
    root = tmp_path / "album"
    _write(root / "2024" / "a.png")
    rc, out, err = _run(capsys, root, "-o", tmp_path / "out", "--model", tiny, "-q")
    assert rc == 1
    assert str(root) in out and "--recursive" in out


# -- (6) wrong, unreadable and garbage model files ------------------------------------------------
def test_a_discriminator_is_refused_once_as_not_a_generator(tmp_path, capsys):
    d = save_model(build_model("srgan_d", channels=4, norm="none"), tmp_path / "critic.safetensors")
    imgs = [_write(tmp_path / "in" / f"{i}.png", seed=i) for i in range(3)]
    rc, out, err = _run(capsys, *imgs, "-o", tmp_path / "out", "--model", d, "-q")
    assert rc == 2 and not out
    assert len(err.strip().splitlines()) == 1 and "not a generator" in err and "critic.safetensors" in err


def test_an_unreadable_model_file_says_permission_denied(tmp_path, tiny, capsys, monkeypatch):
    import trainer.modelfile as mf

    def deny(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(mf, "open", deny, raising=False)
    img = _write(tmp_path / "a.png")
    rc, _, err = _run(capsys, img, "-o", tmp_path / "out", "--model", tiny, "-q")
    assert rc == 2 and "permission denied" in err.lower() and "No such file" not in err
    monkeypatch.undo()
    real_stat = os.stat

    def stat(path, *args, **kwargs):  # a folder above the file cannot be searched
        if Path(path) == tiny:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    with pytest.raises(ModelFileError, match="permission denied"):
        from trainer import zoo

        zoo.find_model(tiny)


def test_garbage_model_and_checkpoint_files_give_one_line(tmp_path, capsys):
    garbage = tmp_path / "junk.pth"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    img = _write(tmp_path / "a.png")
    rc, _, err = _run(capsys, img, "-o", tmp_path / "out", "--model", garbage, "-q")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "not a readable PyTorch file" in err
    assert "refused for safety" not in err  # garbage is not a malicious pickle

    from trainer.cli.train import main as train_main

    assert train_main(["--export-checkpoint", str(garbage), "--out", str(tmp_path / "x.safetensors")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "junk.pth" in err and "weights_only" not in err


def test_eval_json_path_below_a_file_says_what_is_wrong(tmp_path, capsys):
    from trainer.cli.evaluate import main as eval_main

    folder = tmp_path / "gt"
    _write(folder / "a.png", size=(32, 32))
    blocker = tmp_path / "somefile"
    blocker.write_text("x")
    rc = eval_main(["--datasets", str(folder), "--json", str(blocker / "x.json")])
    err = capsys.readouterr().err
    assert rc == 1 and "is a file, not a folder" in err and "File exists" not in err


# -- (2) architectures too large for this machine -------------------------------------------------
@pytest.mark.parametrize(
    "arch, hp",
    [("srresnet", {"channels": 70, "num_blocks": 66}), ("wdrn", {"channels": 66, "num_blocks": 65}),
     ("vdsr", {"depth": 66, "channels": 65}), ("srcnn", {"channels": 80}), ("unet_d", {"channels": 65}),
     ("srgan_d", {"channels": 65})],
)
def test_the_size_estimate_is_exact(arch, hp):
    real = build_model(arch, **hp).module
    count = sum(t.numel() for t in real.parameters()) + sum(t.numel() for t in real.buffers())
    assert estimate(arch, models.full_hparams(arch, hp)).params == count


def test_huge_architectures_are_refused_from_their_metadata_in_one_line(tmp_path, capsys):
    from safetensors.torch import save_file

    for hp in ({"num_blocks": 10**6}, {"channels": 10**6}):
        path = tmp_path / f"huge{len(hp)}{next(iter(hp))}.safetensors"
        meta = {"format_version": 1, "arch": "srresnet", "hparams": hp, "scale": 4, "kind": "generator"}
        save_file({"x": torch.zeros(1)}, str(path), metadata={"format": "pt", "srgan_desktop": json.dumps(meta)})
        t0 = time.perf_counter()
        with pytest.raises(ModelFileError, match="too large for this machine") as info:
            load_model(path)
        assert time.perf_counter() - t0 < 20 and str(path) in str(info.value)
        rc, _, err = _run(capsys, _write(tmp_path / "a.png"), "-o", tmp_path / "out", "--model", path, "-q")
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "too large" in err
    # Training builds through the same check (the config's model.num_blocks=1000000).
    with pytest.raises(ModelTooLargeError):
        models.build("srresnet", num_blocks=10**6)


def test_a_legitimate_large_model_passes_the_estimate():
    # About 16.7M parameters, like the community RRDBNet x4 models: fits 4 GB with room to spare.
    hp = models.full_hparams("srresnet", {"channels": 210, "num_blocks": 16})
    est = check_size("srresnet", hp, memory=4 << 30)
    assert est is not None and 15e6 < est.params < 18e6
    with pytest.raises(ModelTooLargeError, match="too large"):
        check_size("srresnet", hp, memory=64 << 20)


# -- (7) long names, format size limits -----------------------------------------------------------
def test_output_names_up_to_255_characters_work(tmp_path, tiny, capsys):
    stem = "n" * (255 - len(".png"))
    src = _write(tmp_path / "in" / f"{stem[:200]}.png")
    out = tmp_path / "out"
    rc, summary, _ = _run(capsys, src, "-o", out, "--model", tiny, "--name", stem, "-q")
    assert rc == 0, summary
    assert [len(p.name) for p in out.iterdir()] == [255]


def test_outputs_over_a_formats_size_limit_are_refused_before_upscaling(tmp_path, tiny, capsys):
    wide = tmp_path / "wide.jpg"
    Image.fromarray(np.zeros((2, 16400, 3), np.uint8)).save(wide)  # x4: 65600 px, JPEG stores 65535
    rc, summary, _ = _run(capsys, wide, "-o", tmp_path / "out", "--model", tiny, "-q")
    assert rc == 1 and "65535" in summary and "PNG" in summary and "broken data stream" not in summary
    web = _write(tmp_path / "web.png", size=(4100, 2))
    rc, summary, _ = _run(capsys, web, "-o", tmp_path / "out", "--model", tiny, "--format", "webp", "-q")
    assert rc == 1 and "16383" in summary
    assert not list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else True
    from trainer.imageio import ImageWriteError, save_image

    with pytest.raises(ImageWriteError, match="65535"):
        save_image(ImageData(np.zeros((1, 65536, 3), np.uint8)), tmp_path / "x.jpg")


# -- (8) leftovers of killed runs, the count after Ctrl+C -----------------------------------------
def test_a_new_run_removes_the_temporary_files_of_a_killed_one(tmp_path, tiny, capsys):
    src = _write(tmp_path / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / ".a_x4.png.tmp-0123abcd"  # what a SIGKILL mid-write leaves
    old = out / ".b_x4.png.tmp-89abcdef"  # another name, untouched for a long time
    fresh = out / ".c_x4.png.tmp-deadbeef"  # possibly another run writing now: kept
    foreign = out / ".notes.tmp-x"  # not our pattern: kept
    for f in (mine, old, fresh, foreign):
        f.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    rc, _, _ = _run(capsys, src, "-o", out, "--model", tiny, "-q")
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([fresh.name, foreign.name, "a_x4.png"])


def test_ctrl_c_counts_the_files_not_processed_without_a_terminal(tmp_path, tiny, capsys, monkeypatch):
    import trainer.cli.upscale as cli

    srcs = [_write(tmp_path / f"{i}.png", seed=i) for i in range(5)]
    real = cli.run_plan

    def interrupted(plan, *args, **kwargs):
        for event in real(plan, *args, **kwargs):
            yield event
            if isinstance(event, cli.FileDone) and event.source == srcs[1]:
                raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_plan", interrupted)
    rc, summary, _ = _run(capsys, *srcs, "-o", tmp_path / "out", "--model", tiny)  # not quiet, not a tty
    assert rc == 1 and "2 upscaled" in summary and "3 file(s) not processed" in summary


# -- (9) GIF --------------------------------------------------------------------------------------
def test_still_gifs_are_read_and_written_as_png(tmp_path, tiny, capsys):
    gif = tmp_path / "still.gif"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)).convert("P").save(gif)
    rc, summary, _ = _run(capsys, tmp_path, "-o", tmp_path / "out", "--model", tiny, "-q")
    assert rc == 0, summary
    assert read_image(tmp_path / "out" / tmp_path.name / "still_x4.png").pixels.shape == (40, 48, 3)


def test_an_animated_input_is_refused_for_a_format_that_cannot_animate(tmp_path, tiny, capsys):
    frames = [Image.new("RGB", (8, 8), (i * 80, 0, 255 - i * 80)) for i in range(3)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    rc, summary, _ = _run(capsys, gif, "-o", tmp_path / "out", "--model", tiny, "--format", "jpg", "-q")
    assert rc == 1 and "animated GIF (3 frames)" in summary and "cannot store an animation" in summary


def _frames(n=3, size=(8, 6), alpha=False):
    out = []
    for i in range(n):
        arr = np.zeros((size[1], size[0], 4), np.uint8)
        arr[..., 0], arr[..., 2], arr[..., 3] = 60 * i, 255 - 60 * i, 255
        if alpha:
            arr[: size[1] // 2, :, 3] = 0  # the top half transparent
        out.append(Image.fromarray(arr if alpha else arr[..., :3]))
    return out


@pytest.mark.parametrize("kind", ["gif", "png", "webp"])
def test_animations_are_upscaled_frame_by_frame_into_the_same_kind(tmp_path, tiny, kind):
    from trainer.pipeline import EngineCache, FileProgress, pick_models, plan_files, run_plan

    frames = _frames(alpha=True)
    src = tmp_path / f"anim.{kind}"
    save = {"gif": {"disposal": 2}, "png": {}, "webp": {"lossless": True}}[kind]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=[70, 120, 200], loop=3, **save)
    settings = EngineSettings(device="cpu", alpha="bicubic")  # a clean mask from the tiny model
    engines = EngineCache()
    plan = plan_files([Source(src)], OutputRules(tmp_path / "out"), pick_models(str(tiny)),
                      lambda m: engines.scale(m, settings))
    events = list(run_plan(plan, engines, settings))
    done = events[-1]
    assert done.status == "written", done.reason
    assert done.output.suffix == f".{kind}"
    per_frame = [(e.done, e.total) for e in events if isinstance(e, FileProgress) and e.stage == "upscaling"]
    assert per_frame == [(0, 3), (1, 3), (2, 3), (3, 3)]
    with Image.open(done.output) as im:
        assert im.is_animated and im.n_frames == 3 and im.size == (32, 24)
        assert im.info.get("loop") == 3
        durations = []
        for i in range(3):
            im.seek(i)
            rgba = np.asarray(im.convert("RGBA"))  # loads the frame (WebP sets its duration then)
            durations.append(im.info.get("duration"))
            assert rgba[:8, :, 3].max() < 30 and rgba[16:, :, 3].min() > 225, kind  # transparency kept
        assert durations == [70, 120, 200]


def test_ctrl_c_while_planning_is_one_line_not_a_traceback(tmp_path, tiny, capsys, monkeypatch):
    import trainer.cli.upscale as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "plan_files", interrupted)  # Ctrl+C while the models load
    rc, out, err = _run(capsys, _write(tmp_path / "a.png"), "-o", tmp_path / "out", "--model", tiny)
    assert rc == 130 and len(err.strip().splitlines()) == 1 and "stopped by the user" in err
