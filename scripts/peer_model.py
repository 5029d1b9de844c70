"""The peer model the issues compare against: leftthomas/SRGAN ``netG_epoch_4_100`` (x4, 2017).

For measurements only (``detail_ratio.py --peer``): nothing here ships, and the weights stay out of
git. Get them from that public repository's history (commit b0323c6, ``epochs/netG_epoch_4_100.pth``,
MIT-licensed repository) and put them at ``.data/peer/netG_epoch_4_100.pth`` (ignored), e.g.::

    git --git-dir=<clone>/.git show b0323c6:epochs/netG_epoch_4_100.pth > .data/peer/netG_epoch_4_100.pth

The network, as that repository describes it: conv9x9 64 + PReLU; five residual blocks (conv3x3,
BN, PReLU, conv3x3, BN, identity skip); conv3x3 + PReLU; the long skip from the first layer; two
x2 sub-pixel stages (conv3x3 to 256, pixel shuffle, PReLU); conv9x9 to 3; output (tanh + 1) / 2.
Input and output RGB in [0, 1]. Loaded with ``torch.load(weights_only=True)``: the file is data.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from trainer.loaded_model import LoadedModel

DEFAULT_PATH = Path(__file__).resolve().parents[1] / ".data" / "peer" / "netG_epoch_4_100.pth"


class _Res(nn.Module):
    def __init__(self, c: int = 64) -> None:
        super().__init__()
        self.conv1, self.bn1, self.prelu = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.PReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(x)))))


class _Up(nn.Module):
    def __init__(self, c: int = 64) -> None:
        super().__init__()
        self.conv, self.prelu = nn.Conv2d(c, 4 * c, 3, padding=1), nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(F.pixel_shuffle(self.conv(x), 2))


class PeerGenerator(nn.Module):
    """The peer's x4 generator (state-dict keys as in its published file)."""

    def __init__(self) -> None:
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(3, 64, 9, padding=4), nn.PReLU())
        for i in range(2, 7):
            setattr(self, f"block{i}", _Res())
        self.block7 = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.PReLU())
        self.block8 = nn.Sequential(_Up(), _Up(), nn.Conv2d(64, 3, 9, padding=4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.block1(x)
        y = first
        for i in range(2, 8):
            y = getattr(self, f"block{i}")(y)
        return (torch.tanh(self.block8(first + y)) + 1) / 2


def load_peer(path: str | Path = DEFAULT_PATH) -> LoadedModel:
    """The peer generator with its published weights (eval mode); a clear error when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the peer's weights are not there; see scripts/peer_model.py for where to get them")
    model = PeerGenerator()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return LoadedModel(model.eval(), "peer_srgan", scale=4, source=path)
