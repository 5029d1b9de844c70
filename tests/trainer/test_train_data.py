"""Training data: scanning and caching, deterministic augmented crops, LR degradations, sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_train_support import make_images

from trainer.config import DataConfig
from trainer.imresize import imresize_torch
from trainer.train.data import CropDataset, DataError, ImageStore, StepBatchSampler, degrade, make_loader


def test_store_skips_small_and_unreadable_images_with_warnings(tmp_path):
    make_images(tmp_path / "sub" / "deeper", n=2)  # found recursively
    make_images(tmp_path, n=1, size=(8, 40), seed=3)  # 40x8: smaller than the crop
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    store = ImageStore(tmp_path, crop=16, scale=4)
    assert len(store) == 2
    assert any("smaller than the 16x16 crop" in w for w in store.warnings)
    assert any("broken.png" in w for w in store.warnings)
    assert store.hr(0).shape == (40, 48, 3) and store.hr(0).dtype == np.uint8


def test_store_converts_grey_and_16_bit(tmp_path):
    Image.fromarray(np.full((20, 20), 100, np.uint8)).save(tmp_path / "grey.png")
    Image.fromarray(np.full((20, 20), 257 * 7, np.uint16)).save(tmp_path / "deep.png")
    store = ImageStore(tmp_path, crop=16, scale=4)
    assert {int(store.hr(i)[0, 0, 0]) for i in range(2)} == {100, 7}
    assert all(store.hr(i).shape == (20, 20, 3) for i in range(2))


@pytest.mark.parametrize("case", ["missing", "empty", "only_small"])
def test_unusable_folders_are_clear_errors(tmp_path, case):
    folder = tmp_path / "data"
    if case != "missing":
        folder.mkdir()
    if case == "only_small":
        make_images(folder, n=2, size=(8, 8))
    with pytest.raises(DataError, match=str(folder)):
        ImageStore(folder, crop=16, scale=4)


def test_cache_cap_decodes_on_demand_with_a_warning(tmp_path):
    make_images(tmp_path, n=3)
    store = ImageStore(tmp_path, crop=16, scale=4, cache_mb=0)
    assert store.cached_bytes == 0 and any("cache" in w for w in store.warnings)
    full = ImageStore(tmp_path, crop=16, scale=4)
    assert np.array_equal(store.hr(2), full.hr(2))


def test_crops_are_deterministic_per_index_and_cover_every_image_each_epoch(tmp_path):
    make_images(tmp_path, n=5)
    store = ImageStore(tmp_path, crop=16, scale=4)
    ds = CropDataset(store, crop=16, scale=4, seed=1)
    again = CropDataset(store, crop=16, scale=4, seed=1)
    other = CropDataset(store, crop=16, scale=4, seed=2)
    assert all(torch.equal(ds[i][0], again[i][0]) for i in range(10))
    assert not all(torch.equal(ds[i][0], other[i][0]) for i in range(10))
    assert ds[0][0].shape == (3, 16, 16) and ds[0][0].dtype == torch.uint8
    assert sorted(ds._order(0).tolist()) == list(range(5)) and sorted(ds._order(1).tolist()) == list(range(5))


def test_flips_and_rotations_can_be_switched_off(tmp_path):
    make_images(tmp_path, n=1)  # 40x48: a 40x40 crop can only slide sideways
    store = ImageStore(tmp_path, crop=40, scale=4)
    full = store.hr(0)
    windows = [torch.from_numpy(full[:, x : x + 40].transpose(2, 0, 1).copy()) for x in range(9)]
    plain = CropDataset(store, crop=40, scale=4, seed=0, flips=False, rotations=False)
    assert all(any(torch.equal(plain[i][0], w) for w in windows) for i in range(16))
    augmented = CropDataset(store, crop=40, scale=4, seed=0)
    assert sum(any(torch.equal(augmented[i][0], w) for w in windows) for i in range(16)) < 8


def test_paired_lr_folder_gives_aligned_crops(tmp_path):
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    hr = np.kron(lr, np.ones((4, 4, 1), np.uint8))  # each LR pixel is a 4x4 HR block
    (tmp_path / "hr").mkdir()
    (tmp_path / "lr").mkdir()
    Image.fromarray(hr).save(tmp_path / "hr" / "a.png")
    Image.fromarray(lr).save(tmp_path / "lr" / "a.png")
    store = ImageStore(tmp_path / "hr", crop=16, scale=4, lr_folder=tmp_path / "lr")
    ds = CropDataset(store, crop=16, scale=4, seed=0)
    for i in range(8):
        hr_crop, lr_crop = ds[i]
        assert lr_crop.shape == (3, 4, 4)
        assert torch.equal(lr_crop.repeat_interleave(4, 1).repeat_interleave(4, 2), hr_crop)


def test_workers_give_the_same_batches_as_the_main_process(tmp_path):
    make_images(tmp_path, n=4)
    store = ImageStore(tmp_path, crop=16, scale=4)
    ds = CropDataset(store, crop=16, scale=4, seed=0)
    batches = []
    for workers in (0, 1):
        loader = make_loader(ds, DataConfig(batch_size=3, num_workers=workers), start_step=5, rank=0, world_size=1, pin_memory=False)
        it = iter(loader)
        batches.append([next(it)[0] for _ in range(3)])
        del it
    assert all(torch.equal(a, b) for a, b in zip(*batches))
    assert torch.equal(batches[0][0], torch.stack([ds[i][0] for i in range(15, 18)]))


def test_step_sampler_splits_ranks_without_overlap():
    r0 = iter(StepBatchSampler(2, start_step=3, rank=0, world_size=2))
    r1 = iter(StepBatchSampler(2, start_step=3, rank=1, world_size=2))
    a = [next(r0) for _ in range(3)]
    b = [next(r1) for _ in range(3)]
    assert a[0] == [12, 13] and b[0] == [14, 15] and a[1] == [16, 17]
    assert not set(sum(a, [])) & set(sum(b, []))


def test_degradations():
    hr = torch.rand(2, 3, 16, 16)
    bic = degrade(hr, DataConfig(degradation="bicubic", quantize_lr=False))
    assert torch.allclose(bic, imresize_torch(hr, 0.25).clamp(0, 1))
    q = degrade(hr, DataConfig(degradation="bicubic"))
    assert torch.equal(q, torch.round(q * 255) / 255)
    torch_bic = degrade(hr, DataConfig(degradation="bicubic-torch", quantize_lr=False))
    assert torch_bic.shape == (2, 3, 4, 4)
    flat = torch.full((1, 3, 16, 16), 0.5)
    g = degrade(flat, DataConfig(degradation="gaussian", blur_sigma=1.6))
    assert g.shape == (1, 3, 4, 4) and torch.allclose(g, torch.full_like(g, 128 / 255))
    cl = degrade(hr.contiguous(memory_format=torch.channels_last), DataConfig(), channels_last=True)
    assert cl.is_contiguous(memory_format=torch.channels_last)
