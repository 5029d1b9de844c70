"""Fixed-size ONNX export (``srgan-export --fixed-size WxH``) for networks whose code depends on the
input size: a tiny SwinIR built from spandrel's own class, saved in the public key layout and opened
through ``trainer.modelfile.load_model`` as a user's file would be."""

from __future__ import annotations

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("spandrel")
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402

from trainer.cli.export import main  # noqa: E402
from trainer.export import ExportError, export_onnx  # noqa: E402
from trainer.modelfile import load_model  # noqa: E402


@pytest.fixture(scope="module")
def swinir_file(tmp_path_factory):
    """A 2x SwinIR with two blocks (the second shifted, so it has an attention mask), window 4, saved
    for 16x16 images: at any other size the mask is computed in Python from the input size."""
    import warnings

    from safetensors.torch import save_file

    torch.manual_seed(1)
    with warnings.catch_warnings():  # torch's meshgrid notice from SwinIR's code (trainer.foreign hides it too)
        warnings.simplefilter("ignore", UserWarning)
        net = SwinIR(img_size=16, embed_dim=12, depths=[2], num_heads=[2], window_size=4, mlp_ratio=2,
                     upscale=2, upsampler="pixelshuffle").eval()
    path = tmp_path_factory.mktemp("swinir") / "tiny_swinir_x2.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def _run(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_dynamic_export_of_swinir_is_refused_with_the_fixed_size_hint(swinir_file, tmp_path, capsys):
    loaded = load_model(swinir_file)
    with pytest.raises(ExportError) as info:
        export_onnx(loaded)
    assert info.value.size_dependent  # it matches at the traced size, not at another one
    out = tmp_path / "swinir.onnx"
    assert main([str(swinir_file), "--onnx", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(swinir_file) in err and "(SwinIR)" in err
    assert "--fixed-size WxH" in err and "input size" in err
    assert not out.exists()


def test_fixed_size_export_of_swinir_matches_torch_at_that_size(swinir_file, tmp_path, capsys):
    # 30 wide, 22 high: not window multiples (the adapter pads), and not square (orientation is checked).
    out = tmp_path / "swinir_30x22.onnx"
    assert main([str(swinir_file), "--onnx", str(out), "--fixed-size", "30x22"]) == 0
    summary = capsys.readouterr().out
    assert "SwinIR x2, fp32" in summary and "fixed 30x22 input, batch 1" in summary

    model = onnx.load(str(out))
    assert {p.key: p.value for p in model.metadata_props} == {"input_height": "22", "input_width": "30", "scale": "2"}
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 22, 30]

    loaded = load_model(swinir_file)
    x = torch.rand(1, 3, 22, 30, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        ref = loaded.module(x).numpy()
    got = _run(out, x.numpy())
    assert got.shape == ref.shape == (1, 3, 44, 60)
    assert float(np.abs(got - ref).max()) <= 1e-4
    # SwinIR's window code derives the batch with int(): two images in one batch would be mixed
    # silently, so the graph takes one image at a time, and ONNX Runtime refuses other shapes.
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        _run(out, np.zeros((2, 3, 22, 30), np.float32))
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        _run(out, np.zeros((1, 3, 32, 32), np.float32))


def test_fixed_size_fp16_export_keeps_a_dynamic_batch_when_it_is_faithful():
    torch.manual_seed(2)
    net = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=4, act_type="prelu").eval()
    result = export_onnx(net, fp16=True, size=(16, 24))
    assert result.size == (16, 24) and result.batch is None and result.scale == 4
    model = onnx.load_from_string(result.data)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 16, 24]
    assert {p.key: p.value for p in model.metadata_props}["input_width"] == "24"
    x = torch.rand(3, 3, 16, 24, generator=torch.Generator().manual_seed(6))
    with torch.inference_mode():
        ref = net(x).numpy()
    session = ort.InferenceSession(result.data, providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy().astype(np.float16)})[0].astype(np.float32)
    assert float(np.abs(got - ref).max()) <= 1e-2


def test_fixed_size_fp16_is_refused_for_a_network_that_runs_in_fp32_only(swinir_file, tmp_path, capsys):
    out = tmp_path / "half.onnx"
    assert main([str(swinir_file), "--onnx", str(out), "--fixed-size", "32", "--fp16"]) == 1
    err = capsys.readouterr().err
    assert "does not run in fp16" in err and "export it in fp32" in err and not out.exists()


@pytest.mark.parametrize("text", ["0x8", "32x", "ax4", "8x8x8", "-4"])
def test_bad_fixed_size_is_a_usage_error(text, tmp_path, capsys):
    assert main(["srgan_x4", "--onnx", str(tmp_path / "m.onnx"), "--fixed-size", text]) == 2
    assert "--fixed-size" in capsys.readouterr().err


def test_fixed_size_parses_wxh_and_n():
    from trainer.cli.export import parse_size

    assert parse_size("40x24") == (24, 40)  # (height, width)
    assert parse_size("64") == (64, 64)
    assert parse_size(" 8X6 ") == (6, 8)
