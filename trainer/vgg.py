"""Frozen VGG19 feature extractor for the perceptual (content) loss and the VGG-feature discriminator.

Weights are torchvision's ImageNet VGG19 (``IMAGENET1K_V1``, file ``vgg19-dcbb9e9d.pth``). Nothing is
downloaded behind the user's back on an offline machine: the cache file is used when present; the
torchvision download is tried only when it is absent and ``SRGAN_OFFLINE`` is not set, and any failure
becomes a :class:`VGGWeightsMissing` that says which file to put where.

Tensor contract: input float (N, 3, H, W) RGB in [0, 1] (ImageNet normalisation happens inside);
output a dict ``{layer name: feature map}`` in the order the layers were requested, always float32.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

VGG19_WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"
# Same as torchvision's ``VGG19_Weights.IMAGENET1K_V1.url`` (a test checks it); written out so the
# error path does not import torchvision.
VGG19_WEIGHTS_URL = "https://download.pytorch.org/models/" + VGG19_WEIGHTS_FILE

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's vgg19 ("E") configuration: channels per conv, "M" for a 2x2 max pool.
_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _layer_names() -> tuple[str, ...]:
    """Names of ``vgg19().features`` indices: conv1_1, relu1_1, ..., relu5_4, pool5."""
    names: list[str] = []
    block, conv = 1, 1
    for v in _CFG:
        if v == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


LAYER_NAMES: tuple[str, ...] = _layer_names()
LAYER_INDEX: dict[str, int] = {name: i for i, name in enumerate(LAYER_NAMES)}


class VGGWeightsMissing(RuntimeError):
    """The ImageNet VGG19 weights are neither cached nor downloadable (or a given file is missing)."""


def vgg19_weights_path() -> Path:
    """Where torchvision caches the VGG19 weights (``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_WEIGHTS_FILE


def _offline() -> bool:
    return os.environ.get("SRGAN_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def _missing_message(reason: str) -> str:
    path = vgg19_weights_path()
    return (
        f"VGG19 ImageNet weights not available ({reason}). The VGG (perceptual) loss and the "
        f"vgg_feature_d discriminator need the file {VGG19_WEIGHTS_FILE}: download it from "
        f"{VGG19_WEIGHTS_URL} and put it in the folder {path.parent} (full path: {path}). "
        "Training with the pixel loss alone works without it."
    )


def imagenet_vgg19_state_dict() -> dict[str, torch.Tensor]:
    """torchvision's VGG19 ImageNet state dict: the cache file, else a download (unless ``SRGAN_OFFLINE``).

    Raises:
        VGGWeightsMissing: the file is absent and cannot be downloaded (or it is unreadable).
    """
    path = vgg19_weights_path()
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated download, say: say which file to replace
            raise VGGWeightsMissing(_missing_message(f"{path} is unreadable: {exc}")) from exc
    if _offline():
        raise VGGWeightsMissing(_missing_message(f"{path} not found and SRGAN_OFFLINE is set"))
    try:
        from torchvision.models import VGG19_Weights

        return VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    except Exception as exc:  # no network, proxy, disk full...: all end in the same instructions
        raise VGGWeightsMissing(_missing_message(f"{path} not found and the download failed: {exc}")) from exc


def _load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise VGGWeightsMissing(f"VGG19 weights file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


class _FrozenConv(nn.Module):
    """3x3 convolution whose weights are buffers, not parameters.

    Buffers never reach an optimizer and are untouched by the usual GAN idiom of toggling
    ``requires_grad`` on all of a discriminator's parameters, so the VGG part stays frozen whatever
    the caller does; they still move with ``.to()`` and are saved in ``state_dict``.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        ref = nn.Conv2d(cin, cout, 3, padding=1)  # torchvision's default init for "random" weights
        self.register_buffer("weight", ref.weight.detach().clone())
        self.register_buffer("bias", ref.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # .float() is a no-op on fp32 buffers and undoes a stray model.half() on the owner.
        return F.conv2d(x, self.weight.float(), self.bias.float(), padding=1)


class VGGFeatures(nn.Module):
    """Named VGG19 feature maps of an RGB [0, 1] image; frozen, eval-only, computed in fp32.

    Args:
        layers: names from :data:`LAYER_NAMES` (``conv1_1`` .. ``relu5_4``, ``pool1`` .. ``pool5``),
            the numbering of torchvision's ``vgg19().features``. The stack is truncated after the
            deepest one. ``conv5_4`` is the ESRGAN choice (before activation), ``relu5_4`` SRGAN's VGG54.
        weights: ``"imagenet"`` (cache file or torchvision download, see module docstring), a path to
            a ``.pth``/``.safetensors`` state dict (torchvision ``features.N.*`` keys or bare
            ``N.*`` keys), or ``None``/``"random"`` for untrained weights (tests, ablations).

    Raises:
        ValueError: unknown layer name. VGGWeightsMissing: the weights cannot be found.
    """

    def __init__(
        self, layers: Iterable[str] = ("relu5_4",), *, weights: str | os.PathLike | None = "imagenet"
    ) -> None:
        super().__init__()
        self.layers = tuple(layers)
        if not self.layers:
            raise ValueError("VGGFeatures needs at least one layer")
        unknown = [name for name in self.layers if name not in LAYER_INDEX]
        if unknown:
            raise ValueError(f"unknown VGG19 layer(s) {unknown}; known: {', '.join(LAYER_NAMES)}")
        self._indices = {LAYER_INDEX[name]: name for name in self.layers}
        last = max(self._indices)

        modules: list[nn.Module] = []
        cin = 3
        for v in _CFG:
            if v == "M":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                # In place (less memory traffic) unless the conv output before it was requested,
                # which must survive the ReLU. Safe for autograd: a conv saves its input, not its output.
                conv_requested = len(modules) in self._indices
                modules += [_FrozenConv(cin, v), nn.ReLU(inplace=not conv_requested)]
                cin = v
            if len(modules) > last:
                break
        modules = modules[: last + 1]
        self.features = nn.Sequential(*modules)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

        if weights is not None and weights != "random":
            state = imagenet_vgg19_state_dict() if weights == "imagenet" else _load_state_dict_file(Path(weights))
            self._load_vgg_state(state, source=str(weights))
        self.eval()

    def _load_vgg_state(self, state: Mapping[str, torch.Tensor], *, source: str) -> None:
        """Copy the convolutions we kept from a torchvision vgg19 (or vgg19.features) state dict."""
        prefix = "features." if any(k.startswith("features.") for k in state) else ""
        for i, module in enumerate(self.features):
            if not isinstance(module, _FrozenConv):
                continue
            for attr in ("weight", "bias"):
                key = f"{prefix}{i}.{attr}"
                if key not in state:
                    raise VGGWeightsMissing(f"VGG19 weights from {source} have no {key!r}: not a VGG19 state dict")
                src = state[key]
                dst = getattr(module, attr)
                if src.shape != dst.shape:
                    raise VGGWeightsMissing(
                        f"VGG19 weights from {source}: {key!r} has shape {tuple(src.shape)}, expected {tuple(dst.shape)}"
                    )
                dst.copy_(src.float())

    def train(self, mode: bool = True) -> VGGFeatures:
        """Always stays in eval mode (a parent's ``.train()`` must not change a frozen extractor)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # fp32 even under autocast: VGG activations overflow fp16 in the deep layers.
        with torch.autocast(device_type=x.device.type, enabled=False):
            h = (x.float() - self.mean) / self.std
            out: dict[str, torch.Tensor] = {}
            for i, module in enumerate(self.features):
                h = module(h)
                if i in self._indices:
                    out[self._indices[i]] = h
        return {name: out[name] for name in self.layers}
