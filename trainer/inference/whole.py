"""``srgan-eval``'s whole-image upscale function on the chosen backend.

With PyTorch it is :func:`trainer.evaluation.model_upscale_fn` (the network as loaded, fp32, one
forward of the whole LR image), exactly as before backends existed. With OpenVINO it is the engine
with ``tile=0``: the same whole-image forward of the prepared network, compiled once for any size;
its outputs are within one level of PyTorch's (the engine's self-check) and the shipped models'
PSNR figures are unchanged (README "CPU backend"). A cancel set for a
:func:`~trainer.inference.cancel.cancellable_forward` block around the call stops it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

    from trainer.loaded_model import LoadedModel


class WholeImageFn:
    """``fn(lr_u8) -> sr_u8`` (HxWx3 uint8 arrays) with what runs it in :attr:`backend_label`."""

    def __init__(self, model: LoadedModel | nn.Module, device: str | torch.device | None = None,
                 backend: str = "auto") -> None:
        from trainer.device import resolve_device
        from trainer.evaluation import model_upscale_fn
        from trainer.inference.backends import resolve_backend

        dev = resolve_device(None if device in (None, "auto") else device)
        self._engine = None
        self.backend_label = "torch"
        if resolve_backend(backend, dev, "fp32") == "openvino":
            from trainer.inference.engine import Upscaler

            try:
                engine = Upscaler(model, device=dev, tile=0, backend="openvino")
                self.backend_label = engine.backend_label
                if engine.backend == "openvino":
                    self._engine = engine
            except Exception as exc:  # noqa: BLE001 - a model failing its set-up probe: PyTorch reports it per image
                self.backend_label = f"torch (openvino failed: {' '.join(str(exc).split())[:200]})"
        self._torch = None if self._engine is not None else model_upscale_fn(model, dev)

    def __call__(self, lr_u8: np.ndarray) -> np.ndarray:
        if self._torch is not None:
            return self._torch(lr_u8)
        from trainer.imageio import ImageData
        from trainer.inference.cancel import current_cancel

        return self._engine.upscale(ImageData(pixels=np.asarray(lr_u8)), cancel=current_cancel()).pixels


def whole_image_fn(model: LoadedModel | nn.Module, device: str | torch.device | None = None,
                   backend: str = "auto") -> WholeImageFn:
    """The whole-image upscale function of ``model`` on ``device`` with ``backend`` (see the module docstring)."""
    return WholeImageFn(model, device, backend)
