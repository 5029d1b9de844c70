"""Inference-only rewrites of a generator, and what the engine needs to know about it.

:func:`prepare_for_inference` returns an eval-mode *copy* (the caller's model is never mutated) with

* BatchNorm folded into the preceding convolution (``Conv2d, BatchNorm2d`` pairs inside any
  ``nn.Sequential``): one memory pass less per BN layer, and no BN kernel at all;
* the sub-pixel tail rewrite: SRGAN-family generators end with ``conv -> PixelShuffle(r) -> PReLU ->
  conv kxk (C -> 3)`` at full output resolution. A kxk conv with 3 output channels is the slowest
  layer on CPUs (oneDNN cannot block 3 channels: 2-10 GFLOP/s against 40-80 for a 64->64 conv).
  The same linear map written on the ``r``-times pixel-unshuffled tensor is a ``ceil``-sized conv
  ``r*r*C -> r*r*3`` at the lower resolution followed by ``PixelShuffle(r)``; PReLU is elementwise so
  it moves in front of the shuffle. ~20% more multiply-adds, but 2-3x faster, and the largest
  tensor of the network (``C`` channels at output resolution) is never built;
* single-slope PReLUs computed in place (one activation-sized tensor and memory pass less each);
* on CPUs, convolutions fused with their activation or residual add (:mod:`trainer.inference.fusion`);
* channels-last memory format where it is faster (CPU oneDNN and CUDA tensor cores).

Every rewrite is checked numerically against the original on a small probe and dropped if it does
not reproduce it, so an architecture that merely looks like the pattern cannot change the output.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from trainer.inference import fusion
from trainer.models.common import TiedSubpixelConv
from trainer.models.notch import LatticeNotch

# Probe size for the numerical checks and the model survey: big enough for every layer to see
# interior pixels, small enough to cost milliseconds even for a 16-block SRResNet.
_PROBE = 20
_OUT_ALIGN = 8


@dataclass(frozen=True)
class ModelInfo:
    """What the engine learns about a generator from one small forward pass.

    Attributes:
        scale: output/input size ratio.
        in_channels: channels the model expects (3 for RGB generators).
        receptive_radius: upper bound of the receptive field radius in input pixels (sum over the
            convolutions of ``dilation * (k // 2)`` divided by the resolution they run at); tiles
            whose context padding reaches this far reproduce the whole-image result exactly.
        bytes_per_pixel: estimated peak activation memory per input pixel at fp32.
    """

    scale: int
    in_channels: int
    receptive_radius: float
    bytes_per_pixel: float


def survey(model: nn.Module, in_channels: int = 3) -> ModelInfo:
    """Run one probe forward with hooks and measure scale, receptive field and activation size."""
    convs: list[tuple[nn.Conv2d, int]] = []
    peak = [0]

    def hook(module: nn.Module, inputs: tuple, output: object) -> None:
        tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
        if isinstance(output, torch.Tensor):
            # An in-place module returns its input: count that memory once.
            fresh = all(t.data_ptr() != output.data_ptr() for t in tensors)
            peak[0] = max(peak[0], sum(t.numel() for t in tensors) + (output.numel() if fresh else 0))
        if isinstance(module, (nn.Conv2d, fusion.FusedConv, TiedSubpixelConv, LatticeNotch)) and tensors:
            convs.append((module, tensors[0].shape[-2]))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        param = next(model.parameters(), None)
        x = torch.rand(1, in_channels, _PROBE, _PROBE, device=param.device if param is not None else "cpu")
        with torch.inference_mode():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    scale = y.shape[-2] // _PROBE
    radius = 0.0
    for conv, size in convs:
        if isinstance(conv, LatticeNotch):  # a fixed filter on the output, reaching radius_px output pixels
            radius += conv.radius_px * _PROBE / size
            continue
        k = conv.weight.shape[-2]
        radius += getattr(conv, "dilation", (1,))[0] * (k // 2) * _PROBE / size
    # Functional resampling inside forward (bicubic pre-upsampling, bicubic skips) is invisible to
    # hooks; bicubic reads 2 pixels either side.
    radius += 2.0
    # Peak live memory ~ the largest layer's input + output (+10% for skips and allocator slack);
    # measured 5.8 kB per input pixel for the optimised SRResNet, estimated 5.6 kB.
    per_px = max(peak[0], y.numel() + x.numel()) / (_PROBE * _PROBE)
    bytes_per_pixel = 4.0 * 1.1 * per_px
    return ModelInfo(scale=scale, in_channels=in_channels, receptive_radius=radius, bytes_per_pixel=bytes_per_pixel)


def untie_subpixel_convs(model: nn.Module) -> int:
    """Replace every :class:`~trainer.models.common.TiedSubpixelConv` (a resize-convolution kept as
    one learnt kernel) by the plain conv it computes, in place; return the count. The later
    rewrites, the CPU fusion and the exporters then see an ordinary pixel-shuffle network."""
    found = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
             if isinstance(child, TiedSubpixelConv)]
    for parent, name, child in found:
        setattr(parent, name, child.to_conv())
    return len(found)


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every ``Conv2d, BatchNorm2d`` pair inside an ``nn.Sequential`` in place; return the count.

    Only valid in eval mode (the BN running statistics become constants).
    """
    folded = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = seq._modules[a], seq._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                seq._modules[a] = fuse_conv_bn_eval(conv, bn)
                seq._modules[b] = nn.Identity()
                folded += 1
    return folded


def subpixel_conv(conv: nn.Conv2d, r: int, *, pad_channels: bool = True) -> nn.Module:
    """Rewrite a stride-1 'same' conv applied at ``r`` x resolution as a conv on the unshuffled input.

    ``conv(x)`` == ``PixelShuffle(r)(new(PixelUnshuffle(r)(x)))`` for inputs whose size is a multiple
    of ``r`` (zero padding maps exactly to zero padding of the unshuffled tensor).
    """
    w = conv.weight.detach()
    cout, cin, k, _ = w.shape
    p = conv.padding[0]
    lo = math.floor(-p / r)
    hi = math.floor((r - 1 + k - 1 - p) / r)
    half = max(-lo, hi)
    kk = 2 * half + 1
    w2 = torch.zeros(cout * r * r, cin * r * r, kk, kk, dtype=w.dtype, device=w.device)
    for py in range(r):
        for px in range(r):
            for dy in range(k):
                ay, sy = divmod(py + dy - p, r)
                for dx in range(k):
                    ax, sx = divmod(px + dx - p, r)
                    # out channel o*r*r + py*r + px; in channel c*r*r + sy*r + sx
                    w2[py * r + px :: r * r, sy * r + sx :: r * r, ay + half, ax + half] += w[:, :, dy, dx]
    n_out = cout * r * r
    # oneDNN runs 16 output channels faster than 12 (whole SIMD registers; measured 1.25x on AVX2):
    # pad with zero filters and drop them before the shuffle.
    padded = -(-n_out // _OUT_ALIGN) * _OUT_ALIGN if pad_channels else n_out
    new = nn.Conv2d(cin * r * r, padded, kk, padding=half, bias=True)
    new = new.to(device=w.device, dtype=w.dtype)
    with torch.no_grad():
        new.weight.zero_()
        new.bias.zero_()
        new.weight[:n_out].copy_(w2)
        if conv.bias is not None:
            new.bias[:n_out].copy_(conv.bias.detach().repeat_interleave(r * r))
    layers: list[nn.Module] = [new] + ([TakeChannels(n_out)] if padded != n_out else []) + [nn.PixelShuffle(r)]
    return nn.Sequential(*layers)


class TakeChannels(nn.Module):
    """The first ``n`` channels (drops the zero padding channels of a padded conv)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.n]


def _is_same_conv(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.Conv2d)
        and m.stride == (1, 1)
        and m.dilation == (1, 1)
        and m.groups == 1
        and m.padding_mode == "zeros"
        and m.kernel_size[0] == m.kernel_size[1]
        and m.padding == (m.kernel_size[0] // 2,) * 2
        and m.kernel_size[0] % 2 == 1
    )


def rewrite_subpixel_tail(model: nn.Module) -> bool:
    """Apply the sub-pixel tail rewrite when ``model.upsample`` ends in ``PixelShuffle, PReLU`` and
    ``model.tail`` is a plain conv (SRResNet, WDRN). Returns whether it was applied."""
    up, tail = getattr(model, "upsample", None), getattr(model, "tail", None)
    if not (isinstance(up, nn.Sequential) and len(up) >= 2 and _is_same_conv(tail)):
        return False
    shuffle, act = up[-2], up[-1]
    if not (isinstance(shuffle, nn.PixelShuffle) and isinstance(act, nn.PReLU)):
        return False
    r = shuffle.upscale_factor
    model.upsample = nn.Sequential(*list(up)[:-2], _prelu_before_shuffle(act, r))
    model.tail = subpixel_conv(tail, r)
    return True


class InplacePReLU(nn.Module):
    """A single-slope PReLU computed in place (``leaky_relu_``): no extra tensor, one memory pass less.

    Only valid where nothing else reads the activation's input, which holds for ``conv -> PReLU``
    chains; the probe check in :func:`prepare_for_inference` rejects it anywhere else.
    """

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.slope = float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu_(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope:.4g}"


def _prelu_before_shuffle(act: nn.PReLU, r: int) -> nn.PReLU:
    """The PReLU that, applied before ``PixelShuffle(r)``, equals ``act`` applied after it."""
    if act.num_parameters == 1:
        return act
    moved = nn.PReLU(act.num_parameters * r * r).to(act.weight.device)
    with torch.no_grad():  # channel c after the shuffle is channels c*r*r .. c*r*r + r*r - 1 before it
        moved.weight.copy_(act.weight.detach().repeat_interleave(r * r))
    return moved


def activations_before_shuffle(model: nn.Module) -> int:
    """Swap ``PixelShuffle, activation`` to ``activation, PixelShuffle`` inside Sequentials.

    Elementwise activations commute with the shuffle (a permutation of pixels); in front of it the
    activation directly follows the convolution and can be fused into it.
    """
    count = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            shuffle, act = seq._modules[a], seq._modules[b]
            if isinstance(shuffle, nn.PixelShuffle) and isinstance(act, (nn.PReLU, nn.ReLU, nn.LeakyReLU)):
                if isinstance(act, nn.PReLU):
                    act = _prelu_before_shuffle(act, shuffle.upscale_factor)
                seq._modules[a], seq._modules[b] = act, shuffle
                count += 1
    return count


def inplace_activations(model: nn.Module) -> int:
    """Replace single-parameter ``nn.PReLU`` modules by :class:`InplacePReLU`; return the count."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.PReLU) and child.num_parameters == 1:
                setattr(parent, name, InplacePReLU(float(child.weight.detach().reshape(-1)[0])))
                count += 1
    return count


def _max_rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-6))


def _checked(candidate: nn.Module | None, current: nn.Module, probe: torch.Tensor, expected: torch.Tensor) -> nn.Module:
    """``candidate`` if it reproduces ``expected`` on ``probe`` (and runs at all), else ``current``."""
    if candidate is None:
        return current
    try:
        with torch.inference_mode():
            ok = _max_rel_diff(candidate(probe), expected) < 1e-4
    except (RuntimeError, TypeError, NotImplementedError):
        ok = False
    return candidate if ok else current


def prepare_for_inference(
    model: nn.Module, *, device: torch.device, channels_last: bool | None = None, in_channels: int = 3,
    fuse: bool = True,
) -> nn.Module:
    """Eval-mode optimised copy of ``model`` on ``device`` (fp32; the caller casts for half precision).

    ``channels_last=None`` picks it on CPU and CUDA. Rewrites that change the probe output by more
    than 1e-4 (relative) are dropped. ``fuse=False`` leaves out the CPU oneDNN fusion (a private
    PyTorch op no exporter knows): the form :mod:`trainer.export` and the OpenVINO backend convert.
    """
    ref = copy.deepcopy(model).float().eval().requires_grad_(False).to(device)
    probe = torch.rand(1, in_channels, _PROBE, _PROBE, device=device, generator=None)
    with torch.inference_mode():
        expected = ref(probe)
    fast = ref
    # Each rewrite is applied to a copy and kept only if the probe output is unchanged.
    for rewrite in (untie_subpixel_convs, fold_batchnorm, rewrite_subpixel_tail, activations_before_shuffle, inplace_activations):
        candidate = copy.deepcopy(fast)
        if rewrite(candidate):
            fast = _checked(candidate, fast, probe, expected)
    if device.type == "cpu" and fuse:
        fast = _checked(fusion.fuse_for_cpu(fast), fast, probe, expected)
    if channels_last is None:
        channels_last = device.type in ("cpu", "cuda")
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return fast

