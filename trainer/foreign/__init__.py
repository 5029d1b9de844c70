"""Super-resolution models from elsewhere (ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT, SPAN...), opened
with spandrel.

``trainer.modelfile.load_model`` reads the file itself (safetensors, or ``torch.load(weights_only=True)``
with its wrappers and prefixes removed: a pickle that wants to run code never gets here) and, for a
file that is neither the project's format nor SRResNet-shaped, hands the tensors to
:func:`open_state_dict`. spandrel detects the architecture and its hyperparameters from the keys
and shapes and builds the network; nothing of the file is executed.

Accepted: image-to-image networks (spandrel's purposes ``SR`` and ``Restoration``) with a scale of
1, 2, 3, 4 or 8 and 1, 3 or 4 input channels. Refused, with one line naming the file: inpainting
(they need a mask), face restoration (aligned face crops of a fixed size, not whole images), other
scales, and state dicts spandrel does not recognise. The network runs inside
:class:`~trainer.foreign.adapter.ForeignNetwork`, which meets its size requirements and channel
layout, so the engine's tiler, alpha handling and progress work unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from trainer.errors import one_line
from trainer.foreign.adapter import ForeignNetwork
from trainer.loaded_model import LoadedModel

SUPPORTED_SCALES = (1, 2, 3, 4, 8)
# SwinIR-family code calls torch.meshgrid without ``indexing=``; torch's notice about it would be
# printed on every command's stderr the first time such a model runs. It changes nothing here.
warnings.filterwarnings("ignore", message=r"torch\.meshgrid: in an upcoming release", category=UserWarning)
_PURPOSES = ("SR", "Restoration")
_REFUSED = {
    "FaceSR": "a face restoration model: it works on aligned face crops of a fixed size, not on whole images",
    "Inpainting": "an inpainting model: it fills the holes of a mask and does not upscale",
}


class ForeignModelError(ValueError):
    """A state dict spandrel does not recognise, or a model it recognises that cannot upscale images.
    The message is one line without the path (the caller adds it)."""


def spandrel_version() -> str:
    import spandrel

    return str(spandrel.__version__)


def open_state_dict(state: Mapping[str, torch.Tensor], *, source: Path | None = None) -> LoadedModel:
    """Detect and build the network of ``state`` with spandrel, as a :class:`LoadedModel`.

    ``arch`` is spandrel's architecture id (``"ESRGAN"``, ``"RealESRGAN"``... ``"SwinIR"``); ``scale``
    and ``channels`` (input channels) are detected; ``metadata`` describes it (``architecture``,
    ``parameters``, ``tags``, ``purpose``, ``input_channels``, ``output_channels``,
    ``size_requirements``, ``opened_with``, ``description``); ``backend`` is ``"torch"``. The module
    is a :class:`ForeignNetwork` in eval mode, float32, on the CPU.

    Raises:
        ForeignModelError: unknown state dict, non-SR model, unsupported scale or channels.
    """
    from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError

    try:
        with warnings.catch_warnings():  # torch deprecation notices from inside the architectures' code
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            descriptor = ModelLoader(device="cpu").load_from_state_dict(dict(state))
    except UnsupportedModelError:
        raise ForeignModelError(
            f"not a super-resolution model spandrel recognises: no known architecture matches its "
            f"{len(state)} weights ({_few_keys(state)})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a detected architecture whose weights do not fit it
        raise ForeignModelError(
            f"spandrel could not build the network from its weights ({type(exc).__name__}: {one_line(exc)[:300]})"
        ) from None
    arch = descriptor.architecture
    label = f"{arch.name} ({arch.id})" if arch.name != arch.id else arch.name
    purpose = str(descriptor.purpose)
    if not isinstance(descriptor, ImageModelDescriptor) or purpose not in _PURPOSES:
        reason = _REFUSED.get(purpose, f"a {purpose} model, not an image-to-image one")
        raise ForeignModelError(f"{label} is {reason}; only super-resolution and restoration models are used")
    scale = int(descriptor.scale)
    if scale not in SUPPORTED_SCALES:
        raise ForeignModelError(f"{label} upscales {scale}x; supported scales are {', '.join(f'{s}x' for s in SUPPORTED_SCALES)}")
    cin, cout = int(descriptor.input_channels), int(descriptor.output_channels)
    if cin not in (1, 3, 4) or cout not in (1, 3, 4):
        raise ForeignModelError(f"{label} reads {cin} and writes {cout} channels; only grey (1), RGB (3) and "
                                "RGBA (4) networks can take images")
    req = descriptor.size_requirements
    net = descriptor.model.float().eval().requires_grad_(False)
    call = getattr(descriptor, "_call_fn", None)  # spandrel's call (tuple outputs, extra inputs); None: net(x)
    module = ForeignNetwork(net, scale=scale, in_channels=cin, out_channels=cout, minimum=req.minimum,
                            multiple_of=req.multiple_of, square=req.square, call=call).eval()
    params = sum(p.numel() for p in net.parameters())
    tags = [str(t) for t in descriptor.tags]
    precisions = ("fp32",) + (("fp16",) if descriptor.supports_half else ()) + (("bf16",) if descriptor.supports_bfloat16 else ())
    metadata: dict[str, Any] = {
        "architecture": arch.name,
        "parameters": params,
        "tags": tags,
        "purpose": purpose,
        "input_channels": cin,
        "output_channels": cout,
        "size_requirements": {"minimum": req.minimum, "multiple_of": req.multiple_of, "square": req.square},
        "opened_with": f"spandrel {spandrel_version()}",
        "description": describe(arch.name, scale, params, tags, cin),
    }
    return LoadedModel(module, str(arch.id), {}, scale, "generator", cin, source, metadata,
                       precisions=precisions, backend="torch")


def describe(name: str, scale: int, params: int, tags: list[str], channels: int = 3) -> str:
    """One line for pickers and tooltips: ``"ESRGAN 4x, 16.7M parameters (64nf, 23nb)"``."""
    extra = f" ({', '.join(tags)})" if tags else ""
    grey = ", grey" if channels == 1 else ", RGBA" if channels == 4 else ""
    return f"{name} {scale}x{grey}, {format_params(params)} parameters{extra}"


def format_params(n: int) -> str:
    """``16697987`` -> ``"16.7M"``, ``1234`` -> ``"1.2k"``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _few_keys(state: Mapping[str, Any], limit: int = 3) -> str:
    keys = list(state)[:limit]
    more = ", ..." if len(state) > limit else ""
    return "e.g. " + ", ".join(keys) + more if keys else "no keys"


__all__ = ["ForeignModelError", "ForeignNetwork", "SUPPORTED_SCALES", "describe", "format_params", "open_state_dict",
           "spandrel_version"]
