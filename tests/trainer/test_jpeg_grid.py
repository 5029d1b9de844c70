"""The ``jpeg_grid`` option: a network told where the JPEG blocks start, tiled exactly, started from a
file without it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.inference import Upscaler
from trainer.inference.tiling import plan_axis
from trainer.models import build
from trainer.models.common import grid_planes


def test_grid_planes_mark_block_starts():
    p = grid_planes(torch.zeros(2, 3, 20, 35), 8)
    assert p.shape == (2, 4, 20, 35) and p.dtype == torch.float32
    cols, rows = p[0, 0, 0], p[0, 1, :, 0]
    assert torch.nonzero(cols).flatten().tolist() == [0, 8, 16, 24, 32]
    assert torch.nonzero(rows).flatten().tolist() == [0, 8, 16]
    assert torch.nonzero(p[1, 2, 0]).flatten().tolist() == [0, 16, 32]  # 16x16 chroma MCUs
    assert torch.nonzero(p[1, 3, :, 5]).flatten().tolist() == [0, 16]
    assert bool((p[0, 0] == p[0, 0, :1]).all())  # a column plane is constant down each column
    assert grid_planes(torch.zeros(1, 3, 4, 4, dtype=torch.float16), 8).dtype == torch.float16


@pytest.mark.parametrize("length,tile,overlap,context,align", [
    (100, 32, 8, 12, 16), (127, 17, 8, 5, 16), (61, 20, 4, 9, 16), (200, 40, 8, 30, 8), (33, 30, 4, 6, 16),
])
def test_aligned_windows_start_on_the_grid_and_keep_their_context(length, tile, overlap, context, align):
    spans = plan_axis(length, tile, overlap, context, align)
    assert len(spans) > 1
    size = spans[0].win_end - spans[0].win_start
    for sp in spans:
        assert sp.win_start % align == 0, sp
        assert sp.win_end - sp.win_start == size and 0 <= sp.win_start and sp.win_end <= length
        assert sp.win_start <= max(0, sp.start - context) and min(length, sp.end + context) <= sp.win_end
    assert spans[-1].win_end == length and spans[0].start == 0 and spans[-1].end == length


def _grid_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build("srresnet", channels=8, num_blocks=2, bicubic_skip=True, jpeg_grid=8)
    with torch.no_grad():  # planes strong enough that a misplaced grid shows in 8-bit output
        model.head[0].weight[:, 3:] *= 20
    return model.eval()


def test_tiled_upscale_of_a_grid_model_equals_whole_image():
    model = _grid_model()
    img = np.random.default_rng(0).integers(0, 256, (45, 61, 3), dtype=np.uint8)
    whole = Upscaler(model, tile=0).upscale_array(img)
    up = Upscaler(model, tile=20)
    assert up.grid_align == 16 and img.shape[1] > 20 + 2 * up.context
    tiled = up.upscale_array(img)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1
    # Without the alignment the same tiles see the grid in the wrong place: the test can fail.
    up.grid_align = 1
    assert np.abs(up.upscale_array(img).astype(int) - whole.astype(int)).max() > 8


def test_grid_planes_change_the_output_only_through_their_weights():
    model = _grid_model()
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        y = model(x)
        model.head[0].weight[:, 3:] = 0
        plain = build("srresnet", channels=8, num_blocks=2, bicubic_skip=True)
        state = model.state_dict()
        state["head.0.weight"] = state["head.0.weight"][:, :3]
        plain.load_state_dict(state)
        plain.eval()
        assert float((model(x) - plain(x)).abs().max()) < 1e-6
        assert float((y - plain(x)).abs().max()) > 1e-3


def test_training_starts_a_grid_network_from_a_file_without_the_grid(tmp_path):
    from trainer.config import TrainingConfig, apply_overrides
    from trainer.modelfile import load_model, save_model
    from trainer.models import build_model
    from trainer.train.setup import build_generator, init_compatible

    torch.manual_seed(1)
    src = build_model("srresnet", scale=4, channels=8, num_blocks=2, bicubic_skip=True)
    src.module.eval()
    path = tmp_path / "plain.safetensors"
    save_model(src, path)
    config = apply_overrides(TrainingConfig(), {
        "model.arch": "srresnet", "model.hparams.channels": 8, "model.hparams.num_blocks": 2,
        "model.hparams.bicubic_skip": True, "model.hparams.jpeg_grid": 8, "model.init_weights": str(path),
    })
    model = build_generator(config).eval()
    assert model.head[0].weight.shape[1] == 7 and float(model.head[0].weight[:, 3:].detach().abs().max()) == 0
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        assert float((model(x) - load_model(path).module.eval()(x)).abs().max()) < 1e-6
    # The other way round (planes dropped) is not a silent start.
    assert not init_compatible("srresnet", {"jpeg_grid": 8}, "srresnet", {})
    assert init_compatible("srresnet", {}, "srresnet", {"jpeg_grid": 8})
    assert not init_compatible("srresnet", {"channels": 32}, "srresnet", {"jpeg_grid": 8})


def test_negative_grid_is_refused():
    with pytest.raises(ValueError, match="jpeg_grid"):
        build("srresnet", jpeg_grid=-8)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8, 5])
def test_a_turned_jpeg_is_upscaled_on_its_stored_grid(tmp_path, orientation):
    """A photo whose EXIF says "turn me" has its 8x8 blocks at the stored corner: the grid model runs
    there and the result is turned upright, the same pixels as upscaling the stored image and turning it."""
    from PIL import Image

    from trainer.imageio import read_image
    from trainer.imageio.metadata import apply_orientation

    stored = np.random.default_rng(1).integers(0, 256, (21, 27, 3), dtype=np.uint8)  # not multiples of 16
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(path, quality=70, exif=exif.tobytes())
    img = read_image(path)
    assert img.orientation == orientation
    decoded = np.asarray(Image.open(path).convert("RGB"))
    model = _grid_model()
    up = Upscaler(model, tile=0)
    expected = apply_orientation(up.upscale_array(decoded), orientation)
    out = up.upscale(img)
    assert out.pixels.shape == expected.shape
    assert np.abs(out.pixels.astype(int) - expected.astype(int)).max() <= 1
    if orientation != 1:  # turning first would put the planes elsewhere: the test can fail
        naive = up.upscale_array(apply_orientation(decoded, orientation))
        assert np.abs(naive.astype(int) - expected.astype(int)).max() > 8

