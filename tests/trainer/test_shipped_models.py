"""Regression test of the shipped default models against their model cards (issue 5).

A broken loader, a wrong colour order, a changed default or a corrupted file shows up here at once:
each shipped model must reproduce, on a Set5 image, the Y-PSNR recorded in its metadata and card.
"""

import pytest

from trainer import modelfile, paths, zoo
from trainer.evaluation import model_upscale_fn, read_rgb_u8
from trainer.metrics import prepare_pair, psnr_y

SHIPPED = ("srresnet_x4", "srgan_x4", "photo_x4")
IMAGE = "bird.png"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_matches_its_card(name, benchmarks):
    path = paths.models_dir() / f"{name}.safetensors"
    assert path.is_file(), f"shipped model {path} is missing"
    meta = modelfile.read_metadata(path)
    expected = meta["metrics"]["Set5"]["per_image"][IMAGE]["psnr"]
    card = path.with_suffix(".md").read_text(encoding="utf-8")
    assert f"| {IMAGE} | {expected:.4f} |" in card, "model card and metadata disagree"

    model = zoo.load(name)
    hr, lr = prepare_pair(read_rgb_u8(benchmarks / "Set5" / IMAGE), model.scale)
    measured = psnr_y(hr, model_upscale_fn(model, "cpu")(lr), shave=model.scale)
    assert measured == pytest.approx(expected, abs=0.05)


def test_default_model_is_srgan_x4():
    assert zoo.default_model_name() == "srgan_x4"
    assert {m.name for m in zoo.list_models("shipped")} >= set(SHIPPED)
