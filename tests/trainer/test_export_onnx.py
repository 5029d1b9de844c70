"""ONNX export (issue 16, item 4): the engine's rewrites in the graph, dynamic sizes, checked with
ONNX Runtime against the original network; unexportable networks refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

ort = pytest.importorskip("onnxruntime")

from trainer.export import ExportError, export_onnx  # noqa: E402


def _srresnet() -> nn.Module:
    from trainer.models import build

    torch.manual_seed(0)
    model = build("srresnet", num_blocks=1, channels=8)
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding them is really tested
        model(torch.rand(2, 3, 16, 16))
    return model.eval()


def _srresnet_resize_conv() -> nn.Module:
    from trainer.models import build

    torch.manual_seed(4)
    return build("srresnet", num_blocks=1, channels=8, upsampler="bilinear_conv").eval()


def _srresnet_notched() -> nn.Module:
    """A blend with the lattice notch against a reference (two networks and a fixed filter)."""
    from trainer.interpolate import with_lattice_notch
    from trainer.models import build_model

    hp = {"num_blocks": 1, "channels": 8, "bicubic_skip": True, "upsampler": "bilinear_conv"}
    torch.manual_seed(5)
    own, ref = build_model("srresnet", **hp), build_model("srresnet", **hp)
    return with_lattice_notch(own, ref, 8).module.eval()


def _rrdbnet() -> nn.Module:
    from spandrel.architectures.ESRGAN import ESRGAN  # spandrel's RRDBNet class

    torch.manual_seed(1)
    return ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=4).eval()


def _compact() -> nn.Module:
    from spandrel.architectures.Compact import Compact  # spandrel's SRVGGNetCompact class

    torch.manual_seed(2)
    return Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=4, act_type="prelu").eval()


def _onnx_run(data: bytes, x: torch.Tensor, fp16: bool) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x.numpy().astype(np.float16 if fp16 else np.float32)})[0].astype(np.float32)


@pytest.mark.parametrize("make", [_srresnet, _srresnet_resize_conv, _srresnet_notched, _rrdbnet, _compact],
                         ids=["srresnet", "srresnet-resize-conv", "srresnet-notched", "rrdbnet", "srvggnetcompact"])
@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_onnx_matches_torch_at_any_size(make, fp16):
    model = make()
    result = export_onnx(model, fp16=fp16)
    assert result.scale == 4 and result.opset == 17 and result.precision == ("fp16" if fp16 else "fp32")
    # The original (unprepared) network is the reference; sizes and batch differ from the trace.
    x = torch.rand(2, 3, 19, 26, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        ref = model(x).numpy()
    out = _onnx_run(result.data, x, fp16)
    assert out.shape == ref.shape == (2, 3, 76, 104)
    assert float(np.abs(out - ref).max()) <= (1e-2 if fp16 else 1e-4)


def test_export_has_the_engine_rewrites_and_leaves_the_model_alone():
    import onnx

    model = _srresnet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    graph = onnx.load_from_string(export_onnx(model).data).graph
    ops = {node.op_type for node in graph.node}
    assert "BatchNormalization" not in ops  # folded into the convolutions
    assert "PRelu" not in ops and "LeakyRelu" in ops  # single-slope PReLU as LeakyRelu
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim] == ["batch", "", "height", "width"]


class _SizeDependent(nn.Module):
    """Pads to a multiple of 8 with Python integers (as window-attention models do): a trace
    freezes the pad and the crop at the traced size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        h, w = int(x.shape[2]), int(x.shape[3])
        x = F.pad(x, (0, (8 - w % 8) % 8, 0, (8 - h % 8) % 8), mode="reflect")
        return F.interpolate(self.conv(x), scale_factor=2, mode="nearest")[:, :, : 2 * h, : 2 * w]


class _HostRoundTrip(nn.Module):
    """Leaves the graph through numpy: the exporter records a constant, not the computation."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        y = torch.from_numpy(np.ascontiguousarray(self.conv(x).detach().numpy()))
        return F.interpolate(y, scale_factor=2, mode="nearest")


@pytest.mark.parametrize("module", [_SizeDependent, _HostRoundTrip])
def test_networks_that_do_not_export_faithfully_are_refused(module):
    with pytest.raises(ExportError) as info:
        export_onnx(module().eval())
    message = str(info.value)
    assert "\n" not in message and ("input size" in message or "differs" in message or "cannot" in message)


def test_srgan_export_command(tmp_path, capsys):
    from trainer.cli.export import main
    from trainer.modelfile import save_model
    from trainer.models import build_model

    torch.manual_seed(0)
    loaded = build_model("srresnet", num_blocks=1, channels=4)
    loaded.module.eval()
    path = save_model(loaded, tmp_path / "tiny.safetensors")
    out = tmp_path / "out" / "tiny.onnx"
    assert main([str(path), "--onnx", str(out)]) == 0
    assert "x4, fp32, opset 17" in capsys.readouterr().out
    x = torch.rand(1, 3, 11, 14)
    with torch.inference_mode():
        ref = loaded.module(x).numpy()
    assert float(np.abs(_onnx_run(out.read_bytes(), x, False) - ref).max()) <= 1e-4
    assert [p.name for p in out.parent.iterdir()] == ["tiny.onnx"]  # no temporary file left behind
    assert main([str(path), "--onnx", str(out)]) == 1  # exists, no --overwrite
    assert "already exists" in capsys.readouterr().err
    assert main([str(path), "--onnx", str(out), "--opset", "13"]) == 2
    assert "17 or newer" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.pth"), "--onnx", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "missing.pth" in err and len(err.strip().splitlines()) == 1  # one line
