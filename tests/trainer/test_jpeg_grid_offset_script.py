"""scripts/jpeg_grid_offset.py: a grid model measured on inputs whose JPEG grid is where it thinks, and not."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def script(load_file_module):
    return load_file_module("scripts/jpeg_grid_offset.py")


def test_grid_model_is_measured_aligned_and_cut(script, tmp_path):
    from PIL import Image
    from skimage import data

    from trainer.modelfile import save_model
    from trainer.models import build_model

    folder = tmp_path / "set"
    folder.mkdir()
    for i, img in enumerate([data.astronaut(), data.chelsea()]):
        Image.fromarray(img[:96, :112]).save(folder / f"{i}.png")
    torch.manual_seed(0)
    models = {}
    for grid in (0, 8):
        lm = build_model("srresnet", scale=4, channels=8, num_blocks=1, bicubic_skip=True, jpeg_grid=grid)
        with torch.no_grad():  # near-bicubic output, plus a strong response to the grid planes if it has them
            lm.module.tail.weight.mul_(0.01)
            lm.module.tail.bias.zero_()
            if grid:
                lm.module.head[0].weight[:, 3:] = 0
                lm.module.head[0].bias.zero_()
                lm.module.head[0].weight[:, 3:, 4, 4] = 50.0
        lm.module.eval()
        models[grid] = str(save_model(lm, tmp_path / f"g{grid}.safetensors"))
    out = tmp_path / "r.json"
    assert script.main(["--models", models[0], models[8], "--set", str(folder), "--offset", "3", "5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    plain, grid = result[models[0]], result[models[8]]
    assert set(plain) == {"0,0", "3,5"}
    for v in [*plain.values(), *grid.values()]:
        assert np.isfinite(v).all() and 10 < v[0] < 50 and v[1] > 0
    # The grid planes mark block starts: where they sit decides what the grid model adds, so its figures
    # change between the two cuts more than the plain model's (which only loses 3 rows / 5 columns).
    assert abs(grid["0,0"][0] - grid["3,5"][0]) != pytest.approx(abs(plain["0,0"][0] - plain["3,5"][0]), abs=0.01)
