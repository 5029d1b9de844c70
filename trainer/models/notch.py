"""The lattice notch: remove an SR output's local component at the frequencies of its x``period`` lattice.

An x``r`` generator makes each output pixel at one of r*r positions (y mod r, x mod r). What it puts at
the lattice frequencies (k/r, l/r cycles per pixel, not both 0: the local per-position means) shows
as an r-pixel grid when it is wrong. Next to edges an MSE network predicts those frequencies well, so
the notch is used against a reference (``SRResNet.lattice_notch``): ``ref + notch(out - ref)`` keeps
the MSE network's lattice component and drops only what a GAN added there (docs/GAN_RECIPE.md,
session 18). The notch subtracts, at every pixel, the local mean of the pixels at its own lattice
position minus the local mean over all positions:

    lattice = Gc * out - B * (Gc * out),     out' = out - lattice

``Gc``: a Gaussian of width ``sigma`` sampled every ``period`` pixels through the centre (a dilated
kernel), so ``Gc * out`` at a pixel averages the pixels at the same lattice position around it.
``B``: ``[1/2, 1, ..., 1, 1/2] / period`` (``period + 1`` taps; an odd period's plain box of
``period`` taps), whose response is zero at every lattice frequency and ~1 near zero, so
``B * (Gc * out)`` is the local mean over all positions. Both kernels are centred on the pixel, so smooth content and ramps pass unchanged; the notches are Gaussian,
about ``1 / (2 pi sigma)`` wide, around the lattice frequencies. At the borders each kernel is
renormalised over the pixels inside the image (no padding content). Computed in float32 whatever the
input dtype: the component is a fraction of a grey level, below half precision's resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LatticeNotch(nn.Module):
    """``out - lattice`` (module docstring) for (N, C, H, W) images; no learnable parameters.

    Args:
        period: the lattice period in output pixels (the generator's scale).
        sigma: width of the local window in output pixels (larger: a narrower notch, a more global
            estimate). The kernel reaches ``ceil(3 sigma / period) * period`` pixels each way.
    """

    def __init__(self, period: int, sigma: float) -> None:
        super().__init__()
        if period < 2 or sigma <= 0:
            raise ValueError(f"the lattice notch needs period >= 2 and sigma > 0, got {period} and {sigma}")
        self.period, self.sigma = int(period), float(sigma)
        reach = math.ceil(3 * self.sigma / self.period)
        offsets = torch.arange(-reach, reach + 1, dtype=torch.float64) * self.period
        gc = torch.exp(-(offsets**2) / (2 * self.sigma**2))
        # Zero at every lattice frequency, centred: an odd period's plain box; an even period's box of
        # period + 1 taps with half-weight ends (the plain one would be off-centre by half a pixel).
        box = torch.ones(self.period + 1 - self.period % 2, dtype=torch.float64)
        if self.period % 2 == 0:
            box[0] = box[-1] = 0.5
        self.box_weights = [float(w) / self.period for w in box]  # python floats: the shifted adds of _box
        # A buffer, not a parameter, and not in the state dict: model files stay the network's weights.
        self.register_buffer("gc", (gc / gc.sum()).float(), persistent=False)
        self.taps = len(offsets)  # a python int: traceable by torch.fx
        self.radius_px = reach * self.period + self.period // 2  # how far an output pixel's value reaches

    def extra_repr(self) -> str:
        return f"period={self.period}, sigma={self.sigma}"

    def _smooth(self, x: torch.Tensor, gc: torch.Tensor) -> torch.Tensor:
        """``Gc * x``: separable zero-padded filtering of every channel with ``gc`` (taps a period apart)."""
        k, dilation = self.taps, self.period  # (channels folded into the batch: traceable by torch.fx)
        pad = (k // 2) * dilation
        row = gc.view(1, 1, 1, k)
        flat = F.conv2d(x.flatten(0, 1).unsqueeze(1), row, padding=(0, pad), dilation=(1, dilation))
        # The column pass as a row pass on the transpose: oneDNN runs (1, k) kernels ~1.5x faster.
        flat = F.conv2d(flat.transpose(-1, -2).contiguous(), row, padding=(0, pad), dilation=(1, dilation))
        return flat.transpose(-1, -2).reshape(x.shape)

    def _box(self, x: torch.Tensor, dims: tuple[int, ...] = (-1, -2)) -> torch.Tensor:
        """The zero-padded ``box`` filter along ``dims``, as shifted adds (5x faster than a convolution)."""
        half = len(self.box_weights) // 2
        for dim in dims:
            n = x.shape[dim]
            padded = F.pad(x, (half, half) if dim == -1 else (0, 0, half, half))
            x = sum(w * padded.narrow(dim, i, n) for i, w in enumerate(self.box_weights))
        return x

    def _inside(self, ones: torch.Tensor, gc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The weights of ``Gc`` and ``B`` inside the image along one axis (``ones``: its length of ones)."""
        pad = (self.taps // 2) * self.period
        line = ones.view(1, 1, -1)
        inside_gc = F.conv1d(line, gc.view(1, 1, -1), padding=pad, dilation=self.period).view(-1)
        return inside_gc, self._box(line.unsqueeze(0), dims=(-1,)).view(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        gc = self.gc.float()  # a model cast to half casts this buffer too
        # The border renormalisation is separable (the image is a rectangle): 1-D weight profiles.
        rows_gc, rows_box = self._inside(torch.ones_like(xf[0, 0, :, 0]), gc)
        cols_gc, cols_box = self._inside(torch.ones_like(xf[0, 0, 0, :]), gc)
        local = self._smooth(xf, gc) / (rows_gc[:, None] * cols_gc[None, :])
        mean = self._box(local) / (rows_box[:, None] * cols_box[None, :])
        return (xf - (local - mean)).to(x.dtype)
