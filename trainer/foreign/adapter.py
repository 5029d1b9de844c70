"""The ``nn.Module`` around a network opened with spandrel, so the engine can run it like its own.

Tensor contract (the engine's): input float32 NCHW RGB in [0, 1] of any size; output float32 NCHW
RGB, ``scale`` times larger. (An input with the network's own channel count, 1 or 4, runs the
network as it is, with only the size requirements met: that is what an ONNX export of a grey
model takes.) What the wrapped network needs on top of that is done here, inside the
forward, so the tiler, the alpha handling and the progress events of the engine work unchanged:

* **size requirements** (a minimum side, sides that are a multiple of some number, a square input):
  the input is padded at the bottom and right (reflect, then replicate where reflect cannot reach)
  and the output cropped back to ``scale`` x the input;
* **grey (1-channel) networks**: the image is split into luma and chroma (BT.601, as JPEG); the
  network upscales the luma and the chroma is upscaled bicubically, so a colour photo stays in
  colour with the detail of the network (the classic way Y-channel SR models are used) and a grey
  image stays exactly grey;
* **4-channel (RGBA) networks**: given the colour with a fully opaque alpha channel (the engine
  premultiplies the colour and upscales the alpha itself), and the colour of the output is kept;
* **other output layouts**: a 1-channel output is repeated to RGB, extra channels are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

# RGB -> (Y, Cb, Cr), BT.601 full range (JPEG); rows are the output channels.
_RGB_TO_YCBCR = torch.tensor([
    [0.299, 0.587, 0.114],
    [-0.168735892, -0.331264108, 0.5],
    [0.5, -0.418687589, -0.081312411],
])
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def pad_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``x`` padded at the bottom/right to ``height`` x ``width``: reflect as far as the image allows
    (reflection needs ``pad < side``), replicate for the rest (tiny tiles under a large minimum)."""
    pad_h, pad_w = height - x.shape[-2], width - x.shape[-1]
    if pad_h <= 0 and pad_w <= 0:
        return x
    rh, rw = min(pad_h, x.shape[-2] - 1), min(pad_w, x.shape[-1] - 1)
    if rh > 0 or rw > 0:
        x = F.pad(x, (0, max(rw, 0), 0, max(rh, 0)), mode="reflect")
    if pad_h - max(rh, 0) > 0 or pad_w - max(rw, 0) > 0:
        x = F.pad(x, (0, pad_w - max(rw, 0), 0, pad_h - max(rh, 0)), mode="replicate")
    return x


def required_size(height: int, width: int, *, minimum: int, multiple_of: int, square: bool) -> tuple[int, int]:
    """The smallest size >= (``height``, ``width``) that meets the requirements."""
    def up(n: int) -> int:
        n = max(n, minimum)
        return -(-n // multiple_of) * multiple_of

    h, w = up(height), up(width)
    if square:
        h = w = max(h, w)
    return h, w


class ForeignNetwork(nn.Module):
    """A spandrel-loaded network behind the engine's RGB-in, RGB-out contract (see the module doc).

    Args:
        net: the network (its weights loaded).
        scale: output/input size ratio.
        in_channels, out_channels: what the network reads and writes (1, 3 or 4).
        minimum, multiple_of, square: its input size requirements (spandrel's ``SizeRequirements``).
        call: how to call it, when not ``net(x)`` (spandrel's call function: some networks return
            a tuple or take extra inputs); must be a plain function of ``(net, x)``.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        minimum: int = 0,
        multiple_of: int = 1,
        square: bool = False,
        call: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if in_channels not in (1, 3, 4):
            raise ValueError(f"a network with {in_channels} input channels cannot take images (1, 3 or 4 expected)")
        self.net = net
        self.scale = int(scale)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.minimum = int(minimum)
        self.multiple_of = max(1, int(multiple_of))
        self.square = bool(square)
        self._call = call
        self.register_buffer("to_ycbcr", _RGB_TO_YCBCR.clone(), persistent=False)
        self.register_buffer("to_rgb", _YCBCR_TO_RGB.clone(), persistent=False)

    def extra_repr(self) -> str:
        return (f"scale={self.scale}, in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"minimum={self.minimum}, multiple_of={self.multiple_of}, square={self.square}")

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The network on ``x`` with the size requirements met; output cropped to ``scale`` x ``x``."""
        h, w = x.shape[-2:]
        ph, pw = required_size(h, w, minimum=self.minimum, multiple_of=self.multiple_of, square=self.square)
        y = self._call(self.net, pad_to(x, ph, pw)) if self._call is not None else self.net(pad_to(x, ph, pw))
        if isinstance(y, (tuple, list)):  # networks that also return features: the image comes first
            y = y[0]
        return y[..., : h * self.scale, : w * self.scale]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == self.in_channels != 3:
            # The network's own layout (an ONNX export or a probe of a grey/RGBA model): as it is.
            return self._run(x)
        rgb = x[:, :3]
        if self.in_channels == 1:
            ycc = torch.einsum("oc,nchw->nohw", self.to_ycbcr.to(rgb.dtype), rgb)
            luma = self._run(ycc[:, :1])[:, :1]
            chroma = ycc[:, 1:]
            if self.scale != 1:
                chroma = F.interpolate(chroma, scale_factor=self.scale, mode="bicubic", align_corners=False)
            return torch.einsum("oc,nchw->nohw", self.to_rgb.to(rgb.dtype), torch.cat([luma, chroma], 1))
        if self.in_channels == 4:
            rgb = torch.cat([rgb, torch.ones_like(rgb[:, :1])], 1)
        y = self._run(rgb)
        if y.shape[1] == 1:
            return y.expand(-1, 3, -1, -1)
        return y[:, :3]
