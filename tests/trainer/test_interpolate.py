"""Network interpolation: exact blends, refusal of mismatched models, a file that loads back."""

import pytest
import torch

from trainer import modelfile
from trainer.interpolate import InterpolationError, interpolate
from trainer.models import build_model


def _pair(seed_a=0, seed_b=1, **hp):
    hp = {"num_blocks": 1, "channels": 8, **hp}
    torch.manual_seed(seed_a)
    a = build_model("srresnet", **hp)
    torch.manual_seed(seed_b)
    b = build_model("srresnet", **hp)
    return a, b


def test_blend_is_exact_at_the_ends_and_linear_between(tmp_path):
    a, b = _pair()
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        ya, yb = a.module.eval()(x), b.module.eval()(x)
        assert torch.allclose(interpolate(a, b, 0.0).module(x), ya, atol=1e-6)
        assert torch.allclose(interpolate(a, b, 1.0).module(x), yb, atol=1e-6)
    mid = interpolate(a, b, 0.25)
    for key, t in mid.module.state_dict().items():
        ta, tb = a.module.state_dict()[key], b.module.state_dict()[key]
        if t.is_floating_point():
            assert torch.allclose(t, 0.75 * ta + 0.25 * tb, atol=1e-6), key
    assert mid.metadata["interpolated"]["alpha"] == 0.25
    path = modelfile.save_model(mid, tmp_path / "mid.safetensors", metadata={"interpolated": mid.metadata["interpolated"]})
    back = modelfile.load_model(path)
    assert back.metadata["interpolated"]["alpha"] == 0.25
    assert all(torch.equal(back.module.state_dict()[k], v) for k, v in mid.module.state_dict().items())


def test_mismatched_models_and_bad_alpha_are_refused():
    a, _ = _pair()
    _, other = _pair(channels=16)
    with pytest.raises(InterpolationError, match="different networks"):
        interpolate(a, other, 0.5)
    with pytest.raises(InterpolationError, match="alpha"):
        interpolate(a, a, 1.5)


def test_extrapolation_past_one_only_when_asked_and_never_to_a_negative_variance():
    a, b = _pair()
    with pytest.raises(InterpolationError, match="extrapolation"):
        interpolate(a, b, 1.2)
    with pytest.raises(InterpolationError, match="alpha must be in"):
        interpolate(a, b, 2.5, extrapolate=True)
    far = interpolate(a, b, 1.2, extrapolate=True)
    for key, t in far.module.state_dict().items():
        ta, tb = a.module.state_dict()[key].float(), b.module.state_dict()[key].float()
        if t.is_floating_point() and not key.endswith("running_var"):
            assert torch.allclose(t, ta + 1.2 * (tb - ta), atol=1e-5), key
    # A variance that falls fast from a to b crosses zero past 1: refused, naming the tensor.
    key = next(k for k in a.module.state_dict() if k.endswith("running_var"))
    with torch.no_grad():
        a.module.state_dict()[key].fill_(1.0)
        b.module.state_dict()[key].fill_(0.4)
    assert interpolate(a, b, 1.5, extrapolate=True).module.state_dict()[key].min() > 0  # 1 - 1.5 * 0.6 = 0.1
    with pytest.raises(InterpolationError, match=key.replace(".", r"\.")):
        interpolate(a, b, 1.8, extrapolate=True)  # 1 - 1.8 * 0.6 < 0


def test_sweep_rule_floor_is_bicubic_plus_one_or_the_given_psnr(load_file_module):
    """scripts/interpolate_models.py's pick: lowest NIQE above the floor (ties to higher PSNR)."""
    script = load_file_module("scripts/interpolate_models.py")
    rows = [{"alpha": a, "psnr": p, "niqe": n, "bicubic_psnr": 29.79}
            for a, p, n in ((0.5, 30.85, 6.4), (0.7, 30.60, 5.9), (0.8, 30.45, 5.6), (0.9, 30.30, 5.3))]
    assert script.pick(rows)["alpha"] == 0.5  # only 0.5 is over 29.79 + 1.0
    assert script.pick(rows, min_psnr=30.40)["alpha"] == 0.8
    assert script.pick(rows, min_psnr=31.0) is None
    tie = rows + [{"alpha": 0.75, "psnr": 30.55, "niqe": 5.61, "bicubic_psnr": 29.79}]
    assert script.pick(tie, min_psnr=30.40)["alpha"] == 0.75  # within 0.02 NIQE: the higher PSNR


def test_sweep_rule_with_a_niqe_target_takes_the_least_gan_that_reaches_it(load_file_module):
    """--max-niqe: the lowest alpha over the floor whose NIQE reaches the target, else the lowest NIQE."""
    script = load_file_module("scripts/interpolate_models.py")
    rows = [{"alpha": a, "psnr": p, "niqe": n, "bicubic_psnr": 29.79}
            for a, p, n in ((0.5, 30.85, 6.4), (0.6, 30.78, 5.3), (0.7, 30.72, 5.0), (0.8, 30.60, 4.8))]
    assert script.pick(rows, min_psnr=30.69)["alpha"] == 0.7  # without a target: the lowest NIQE over the floor
    assert script.pick(rows, min_psnr=30.69, max_niqe=5.35)["alpha"] == 0.6  # least alpha under 5.35
    assert script.pick(rows, min_psnr=30.69, max_niqe=4.5)["alpha"] == 0.7  # none reaches it: lowest NIQE
    assert script.pick(rows, min_psnr=30.75, max_niqe=5.0)["alpha"] == 0.6  # 0.7 reaches 5.0 but is under the floor


def test_the_script_writes_a_blend_with_the_lattice_notch_against_a(tmp_path, load_file_module):
    script = load_file_module("scripts/interpolate_models.py")
    a, b = _pair(bicubic_skip=True)
    pa, pb = modelfile.save_model(a, tmp_path / "a.safetensors"), modelfile.save_model(b, tmp_path / "b.safetensors")
    out = tmp_path / "mix.safetensors"
    assert script.main([str(pa), str(pb), "--alpha", "0.5", "--notch", "8", "--out", str(out)]) == 0
    mix = modelfile.load_model(out)
    assert mix.hparams["lattice_notch"] == 8.0 and mix.metadata["lattice_notch"] == {"reference": str(pa), "sigma": 8.0}
    plain = interpolate(modelfile.load_model(pa), modelfile.load_model(pb), 0.5)
    for key, value in modelfile.load_model(pa).module.state_dict().items():  # the reference is A
        torch.testing.assert_close(mix.module.state_dict()[f"reference.{key}"], value)
    for key, value in plain.module.state_dict().items():  # the network itself is the plain blend
        torch.testing.assert_close(mix.module.state_dict()[key], value)
