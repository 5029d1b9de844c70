"""The ``realistic`` degradation: what each stage does, determinism, config checks, exact resume."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from test_train_support import make_images, of_type, tiny_config

from trainer.config import ConfigError, DataConfig, RealisticConfig, apply_overrides, load_recipe
from trainer.train import TrainingControl, train
from trainer.train import realistic as R
from trainer.train.checkpoint import load_checkpoint
from trainer.train.data import degrade


def _hr(n: int = 4, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.rand(n, 3, size // 8, size // 8, generator=g)
    return torch.nn.functional.interpolate(smooth, size=(size, size), mode="bilinear", align_corners=False)


@pytest.mark.parametrize("kind", ["iso", "aniso", "generalized_iso", "generalized_aniso"])
def test_kernels_sum_to_one_are_positive_and_centred(kind):
    k = R.blur_kernel(kind, 11, 1.5, 0.7, 0.6, 2.0)
    assert k.shape == (11, 11) and float(k.sum()) == pytest.approx(1.0, abs=1e-12) and float(k.min()) >= 0
    assert int(k.argmax()) == 5 * 11 + 5  # peak at the centre
    ys, xs = torch.meshgrid(torch.arange(11.0), torch.arange(11.0), indexing="ij")
    assert float((k * xs).sum()) == pytest.approx(5.0) and float((k * ys).sum()) == pytest.approx(5.0)


def test_anisotropic_kernel_is_wider_along_its_long_axis_and_iso_is_symmetric():
    iso = R.blur_kernel("iso", 15, 2.0)
    assert torch.allclose(iso, iso.T) and torch.allclose(iso, iso.flip(0))
    aniso = R.blur_kernel("aniso", 15, 3.0, 0.5, 0.0)  # long along x
    xs = torch.arange(15.0) - 7
    var_x = float((aniso.sum(0) * xs**2).sum())
    var_y = float((aniso.sum(1) * xs**2).sum())
    assert var_x > 10 * var_y
    # The generalised kernel with beta < 1 has heavier tails than the Gaussian of the same sigma.
    heavy = R.blur_kernel("generalized_iso", 15, 1.0, beta=0.5)
    assert float(heavy[7, 0]) > float(R.blur_kernel("iso", 15, 1.0)[7, 0])
    with pytest.raises(ValueError, match="odd"):
        R.blur_kernel("iso", 10, 1.0)


def test_blur_keeps_a_flat_image_and_sizes():
    flat = torch.full((3, 20, 24), 0.4)
    out = R.apply_kernel(flat, R.blur_kernel("aniso", 21, 2.0, 1.0, 0.3))
    assert out.shape == flat.shape and torch.allclose(out, flat, atol=1e-6)
    assert R.resize(flat, (10, 12), "area").shape == (3, 10, 12)
    assert R.resize(flat, (31, 17), "bicubic").shape == (3, 31, 17)


def test_jpeg_quality_is_really_applied():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for q in (35, 90):
        reference = io.BytesIO()
        Image.fromarray(pixels).save(reference, format="JPEG", quality=q, subsampling=2)
        with Image.open(io.BytesIO(R.encode_jpeg(pixels, q))) as ours, Image.open(reference) as ref:
            assert ours.quantization == ref.quantization  # the quality's quantisation tables
    grey = np.repeat(pixels[:, :, :1], 3, axis=2)  # no colour: 4:2:0 subsampling loses nothing
    img = torch.from_numpy(grey).permute(2, 0, 1).float() / 255
    err_low = (R.jpeg(img, 20) - img).abs().mean()
    err_high = (R.jpeg(img, 95) - img).abs().mean()
    assert err_low > 2 * err_high > 0


def test_noise_levels_are_the_asked_ones():
    gen = torch.Generator().manual_seed(0)
    flat = torch.full((3, 128, 128), 0.5)
    colour = R.gaussian_noise(flat, 10 / 255, False, gen) - flat
    assert float(colour.std()) * 255 == pytest.approx(10, rel=0.05)
    assert float((colour[0] - colour[1]).abs().mean()) > 0  # independent per channel
    grey = R.gaussian_noise(flat, 10 / 255, True, gen) - flat
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    shot = R.poisson_noise(flat, 1.0, False, gen) - flat
    assert float(shot.std()) * 255 == pytest.approx(math.sqrt(0.5 * 255), rel=0.1)  # Poisson: var = mean
    assert float(R.poisson_noise(flat, 0.25, False, gen).sub(flat).std()) < 0.4 * float(shot.std())


def test_output_size_levels_and_determinism_under_a_key():
    hr = _hr(6, 40)
    cfg = RealisticConfig()
    lr = R.degrade_batch(hr, 4, cfg, (1, 7, 0))
    assert lr.shape == (6, 3, 10, 10) and lr.dtype == torch.float32
    assert torch.equal(lr.mul(255).round(), lr.mul(255))  # 8-bit levels, as decoded JPEG
    assert torch.equal(lr, R.degrade_batch(hr, 4, cfg, (1, 7, 0)))
    assert not torch.equal(lr, R.degrade_batch(hr, 4, cfg, (1, 8, 0)))  # another step
    assert not torch.equal(lr, R.degrade_batch(hr, 4, cfg, (1, 7, 1)))  # another rank
    # Through the training entry point, with the same key.
    via = degrade(hr, DataConfig(degradation="realistic", scale=4), key=(1, 7, 0))
    assert torch.equal(via, lr)


def test_threads_change_nothing_but_the_speed():
    """Each crop has its own random stream: 1, 3 or 8 threads give the same batch, and a crop's
    LR does not depend on the batch around it (crop i of a batch = crop i alone at the same key)."""
    from dataclasses import replace

    hr = _hr(5, 48)
    serial = R.degrade_batch(hr, 4, RealisticConfig(threads=1), (3, 11, 0))
    for threads in (3, 8):
        assert torch.equal(serial, R.degrade_batch(hr, 4, replace(RealisticConfig(), threads=threads), (3, 11, 0)))
    assert not torch.equal(serial[0], serial[1])  # the crops do get different degradations
    assert torch.equal(R.degrade_batch(hr[:2], 4, RealisticConfig(threads=2), (3, 11, 0)), serial[:2])
    # Auto: one thread on the CPU (the step uses the cores), several on an accelerator.
    assert R.degrade_threads(0, torch.device("cpu")) == 1
    assert 1 <= R.degrade_threads(0, torch.device("cuda")) <= 8
    assert R.degrade_threads(4, torch.device("cpu")) == 4
    from trainer.config_realistic import check_realistic

    with pytest.raises(ConfigError, match="data.realistic.threads"):
        check_realistic(RealisticConfig(threads=65))


def test_clean_prob_one_is_the_protocol_bicubic():
    from trainer.imresize import imresize_torch

    hr = _hr(2, 32)
    lr = R.degrade_batch(hr, 4, RealisticConfig(clean_prob=1.0), (0, 0, 0))
    ref = imresize_torch(hr, 0.25).mul(255).round().clamp(0, 255).div(255)
    assert torch.equal(lr, ref)


def test_degradation_actually_degrades():
    """Averaged over a batch, the realistic LR is further from the clean bicubic LR than 8-bit rounding."""
    from trainer.imresize import imresize_torch

    hr = _hr(16, 48, seed=3)
    lr = R.degrade_batch(hr, 4, RealisticConfig(clean_prob=0.0), (0, 1, 0))
    clean = imresize_torch(hr, 0.25)
    assert float((lr - clean).abs().mean()) * 255 > 2.0


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("data.realistic.blur_sigma=[2.0, 1.0]", "data.realistic.blur_sigma"),
        ("data.realistic.jpeg_quality=[30, 101]", "data.realistic.jpeg_quality"),
        ("data.realistic.clean_prob=1.5", "data.realistic.clean_prob"),
        ("data.realistic.kernel_types=['iso', 'box']", "data.realistic.kernel_types"),
        ("data.realistic.kernel_probs=[1.0]", "data.realistic.kernel_probs"),
        ("data.realistic.kernel_sizes=[8]", "data.realistic.kernel_sizes"),
        ("data.realistic.resize_probs=[0, 0, 0]", "data.realistic.resize_probs"),
        ("data.realistic.single_resize=['lanczos']", "data.realistic.single_resize"),
        ("data.realistic.single_resize=[]", "data.realistic.single_resize"),
    ],
)
def test_config_errors_name_the_field(override, field):
    with pytest.raises(ConfigError) as err:
        apply_overrides(load_recipe("photo"), [override])
    assert err.value.field == field


def test_photo_recipe_uses_it():
    cfg = load_recipe("photo")
    assert cfg.data.degradation == "realistic" and cfg.phases[0].pixel.type == "l1"


def test_resume_is_exact_with_the_realistic_degradation(tmp_path):
    data = make_images(tmp_path / "train", n=4)
    cfg = tiny_config(data, **{"data.degradation": "realistic", "phases.*.iterations": 4, "runtime.checkpoint_interval": 2})

    def run(run_dir, stop_at=None, resume=False):
        control, events = TrainingControl(), []
        for ev in train(cfg, run_dir, control=control, resume=resume):
            assert type(ev).__name__ != "Error", getattr(ev, "message", "")
            events.append(ev)
            if type(ev).__name__ == "TrainStep" and ev.step == stop_at:
                control.stop()
        return events

    straight = run(tmp_path / "a")
    run(tmp_path / "b", stop_at=2)
    second = run(tmp_path / "b", resume=True)
    assert second[-1].step == 4
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "step_000000004.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "step_000000004.pt")
    assert all(torch.equal(a["generator"][k], b["generator"][k]) for k in a["generator"])
    tail = {e.step: e.losses for e in of_type(straight, "TrainStep") if e.step > 2}
    assert {e.step: e.losses for e in of_type(second, "TrainStep")} == tail


def test_holdout_images_validate_instead_of_training_with_niqe(tmp_path):
    """data.holdout keeps N training images out of training and validates on them; val_niqe adds NIQE."""
    from trainer.train.data import ImageStore

    data = make_images(tmp_path / "train", n=5, size=(200, 200))
    store = ImageStore(data, crop=16, scale=4, holdout=2)
    assert len(store) == 3 and len(store.holdout_files) == 2
    assert not {im.path for im in store.images} & set(store.holdout_files)
    cfg = tiny_config(data, **{"data.holdout": 2, "runtime.val_interval": 2, "runtime.val_niqe": True,
                               "phases.*.iterations": 2})
    events = []
    for ev in train(cfg, tmp_path / "run"):
        assert type(ev).__name__ != "Error", getattr(ev, "message", "")
        events.append(ev)
    (v,) = of_type(events, "Validation")
    assert v.dataset == "holdout" and set(v.per_image) == {p.name for p in store.holdout_files}
    assert v.niqe is not None and v.hr_niqe is not None and v.niqe > 0
    # The dot-lattice measure comes with every validation, the HR images' as reference.
    assert v.dot_lattice is not None and v.dot_lattice > 0 and 0 < v.hr_dot_lattice < 0.5
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [e["dot_lattice"] for e in logged if e["event"] == "Validation"] == [pytest.approx(v.dot_lattice)]
    with pytest.raises(ConfigError) as err:
        apply_overrides(load_recipe("quick"), ["data.holdout=2", "data.val_dir='/some/folder'"])
    assert err.value.field == "data.holdout"


def test_validation_on_web_degraded_inputs(tmp_path):
    """data.val_degradation = "web:S": validation LR images are srgan-eval's seeded web-like ones
    (image i gets seed S + i), the set is keyed "<name>@web:S", and a bad value is refused."""
    from trainer.train.validation import Validator
    from trainer.webdegrade import crop_to_scale, parse_degradation, web_degrade
    from trainer.evaluation import read_rgb_u8

    folder = make_images(tmp_path / "val", n=2, size=(64, 48))
    files = sorted(folder.iterdir())
    clean = Validator(folder, scale=4, files=files, name="holdout", sample_size=0)
    web = Validator(folder, scale=4, files=files, name="holdout", sample_size=0, degradation=parse_degradation("web:7"))
    assert clean.name == "holdout" and web.name == "holdout@web:7"
    for i, (path, im) in enumerate(zip(files, web.images)):
        expected, _ = web_degrade(crop_to_scale(read_rgb_u8(path), 4), 4, 7 + i)
        assert np.array_equal(im.lr, expected) and im.hr.shape == (64, 48, 3)
    assert web.bicubic_psnr < clean.bicubic_psnr  # blur, noise and JPEG cost the baseline too
    train_dir = make_images(tmp_path / "train", n=3, size=(64, 64))
    cfg = tiny_config(train_dir, **{"data.holdout": 1, "data.val_degradation": "web", "runtime.val_interval": 1,
                                    "phases.*.iterations": 1})
    events = [ev for ev in train(cfg, tmp_path / "run")]
    (v,) = of_type(events, "Validation")
    assert v.dataset == "holdout@web:0" and len(v.per_image) == 1
    with pytest.raises(ConfigError) as err:
        apply_overrides(load_recipe("quick"), ["data.val_degradation='jpeg'"])
    assert err.value.field == "data.val_degradation" and "web:SEED" in str(err.value)
    assert load_recipe("photo").data.val_degradation == "web"


def test_single_pass_is_blur_down_noise_jpeg():
    """single_prob = 1 with the blur and noise off and JPEG 95: just a resize to LR (within JPEG error)."""
    from trainer.imresize import imresize_torch

    hr = _hr(4, 64, seed=5).mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()  # grey: 4:2:0 loses nothing
    cfg = RealisticConfig(clean_prob=0.0, single_prob=1.0, blur_prob=0.0, gaussian_noise_prob=1.0,
                          single_noise_sigma=(0.0, 0.0), jpeg_quality2=(95, 95))
    lr = R.degrade_batch(hr, 4, cfg, (0, 0, 0))
    assert lr.shape == (4, 3, 16, 16)
    assert float((lr - imresize_torch(hr, 0.25)).abs().mean()) * 255 < 3.0
    noisy = R.degrade_batch(hr, 4, RealisticConfig(clean_prob=0.0, single_prob=1.0, single_noise_sigma=(10.0, 10.0),
                                                   gaussian_noise_prob=1.0, blur_prob=0.0, jpeg_quality2=(95, 95)), (0, 0, 0))
    assert float((noisy - lr).std()) * 255 > 4.0  # the noise is there


def test_single_pass_can_use_the_protocol_downscaler():
    """single_resize = ["matlab"] with the blur and noise off and JPEG 100 is MATLAB bicubic up to JPEG
    rounding, and closer to it than the torch modes (which differ from it by their kernels)."""
    from trainer.imresize import imresize_torch

    hr = _hr(4, 64, seed=6).mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    ref = imresize_torch(hr, 0.25)
    assert torch.allclose(R.resize(hr[0], (16, 16), "matlab"), ref[0].clamp(0, 1), atol=1e-6)
    errors = {}
    for mode in ("matlab", "area", "bilinear"):
        cfg = RealisticConfig(clean_prob=0.0, single_prob=1.0, blur_prob=0.0, gaussian_noise_prob=1.0,
                              single_noise_sigma=(0.0, 0.0), jpeg_quality2=(100, 100), single_resize=(mode,))
        errors[mode] = float((R.degrade_batch(hr, 4, cfg, (0, 0, 0)) - ref).abs().mean()) * 255
    assert errors["matlab"] < 1.0
    assert errors["matlab"] < errors["area"] and errors["matlab"] < errors["bilinear"]


def test_linked_holdout_is_evaluated_on_the_same_web_lr_as_the_trainer_validated(tmp_path):
    """link_holdout names the links NN_<name> in the trainer's order, so srgan-eval (which reads a
    folder sorted by name and seeds image i with base + i) degrades each photograph as the trainer's
    validation did, even when the photographs' own names sort in another order."""
    from trainer.evaluation import evaluate_set
    from trainer.train.holdout import holdout_files, link_holdout
    from trainer.train.validation import Validator
    from trainer.webdegrade import WebDegradation

    make_images(tmp_path / "train" / "a", n=3, size=(64, 64), seed=1)
    for i, f in enumerate(sorted((tmp_path / "train" / "a").iterdir())):  # "a/z.." sorts before "b/a.."
        f.rename(f.with_name(f"z{i}.png"))
    make_images(tmp_path / "train" / "b", n=3, size=(64, 64), seed=2)
    files = holdout_files(tmp_path / "train", 4)
    assert [f.parent.name for f in files] == ["a", "a", "b", "b"]  # by name alone the b files would come first
    folder = link_holdout(tmp_path / "train", 4, tmp_path / "links")
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:02d}_{f.name}" for i, f in enumerate(files)]
    assert link_holdout(tmp_path / "train", 4, folder) == folder  # again: the links are kept, no error
    # A folder made by the old naming (links named after the photographs) is brought to this one's.
    (folder / files[0].name).symlink_to(files[0])
    (folder / "notes.txt").write_text("kept")
    link_holdout(tmp_path / "train", 4, folder)
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:02d}_{f.name}" for i, f in enumerate(files)] + ["notes.txt"]
    (folder / "notes.txt").unlink()
    web = WebDegradation(0)
    trainer_view = Validator(tmp_path / "train", scale=4, files=files, name="holdout", degradation=web)
    evaluated = evaluate_set(folder, None, 4, degradation=web)
    assert [r.psnr for r in evaluated.per_image] == pytest.approx([im.bicubic_psnr for im in trainer_view.images], abs=1e-9)
    assert len({round(r.psnr, 6) for r in evaluated.per_image}) == 4  # distinct images: the check can fail
