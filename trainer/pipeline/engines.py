"""Loaded models kept between files: loading a model per image would dominate small jobs.

:class:`EngineCache` keeps the ``keep`` most recently used models loaded (``auto`` alternates two
models, and the app may compare with a third). Per model it builds one
:class:`~trainer.inference.Upscaler` per (device, precision, tile, alpha) setting, and
``srgan-eval``'s whole-image function for evaluation. A model file changed on disk (new mtime) is
loaded again. Thread-safe; torch is imported only when a model is first asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer.evaluation import UpscaleFn
    from trainer.inference import Upscaler
    from trainer.loaded_model import LoadedModel


@dataclass(frozen=True)
class EngineSettings:
    """How models run: ``device``/``precision``/``tile``/``alpha``/``backend`` as for ``Upscaler``;
    ``max_tile`` caps the tile size of large images (None: no cap) so progress and cancel come per tile."""

    device: str | None = "auto"
    precision: str = "auto"
    tile: int | None = None
    alpha: str = "model"
    max_tile: int | None = None
    backend: str = "auto"


class EngineCache:
    """Models by argument (zoo name or file), most recently used last; see the module docstring."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = max(1, keep)
        self._lock = threading.Lock()
        # (path, mtime) -> (loaded model, {setting: engine})
        self._models: dict[tuple, tuple[LoadedModel, dict]] = {}

    def _entry(self, model: str) -> tuple[LoadedModel, dict]:
        from trainer import zoo

        entry = zoo.find_model(model)
        key = (str(entry.path), entry.path.stat().st_mtime_ns)
        if key not in self._models:
            while len(self._models) >= self.keep:
                self._models.pop(next(iter(self._models)))
            from trainer.modelfile import require_generator  # a discriminator is refused once, by name

            self._models[key] = (require_generator(entry.load(device="cpu")), {})
        value = self._models.pop(key)
        self._models[key] = value  # most recently used last
        return value

    def get(self, model: str, settings: EngineSettings = EngineSettings()) -> Upscaler:
        """The tiling engine of ``model`` for ``settings`` (``max_tile`` is not applied here)."""
        from trainer.inference import Upscaler

        with self._lock:
            loaded, engines = self._entry(model)
            key = (settings.device, settings.precision, settings.tile, settings.alpha, settings.backend)
            if key not in engines:
                engines[key] = Upscaler(loaded, device=settings.device, precision=settings.precision,
                                        tile=settings.tile, alpha=settings.alpha, backend=settings.backend)
            return engines[key]

    def scale(self, model: str, settings: EngineSettings = EngineSettings()) -> int:
        """The model's upscaling factor (loads it: a model that cannot run fails here, early)."""
        return int(self.get(model, settings).scale)

    def for_image(self, model: str, settings: EngineSettings, height: int, width: int) -> Upscaler:
        """The engine for an image of this size: ``settings.max_tile`` caps a larger planned tile."""
        engine = self.get(model, settings)
        cap = settings.max_tile
        if cap and max(height, width) > cap:
            planned = engine.tile_for(height, width)
            if planned == 0 or planned > cap:
                engine = self.get(model, replace(settings, tile=cap))
        return engine

    def whole_image_fn(self, model: str, device: str | None, backend: str = "auto") -> UpscaleFn:
        """``srgan-eval``'s own upscale function (the network on the whole LR image, fp32), so
        evaluation figures are those the command prints (:func:`trainer.inference.whole.whole_image_fn`)."""
        from trainer.inference.whole import whole_image_fn

        with self._lock:
            loaded, engines = self._entry(model)
            key = ("eval", device, backend)
            if key not in engines:
                engines[key] = whole_image_fn(loaded, device, backend)
            return engines[key]

    def backends(self) -> list[str]:
        """What ran the models loaded so far, e.g. ``["openvino fp32"]`` or
        ``["torch fp32 (openvino failed: ...)"]``: for a command's summary."""
        with self._lock:
            engines = [e for _, per in self._models.values() for e in per.values() if hasattr(e, "backend_label")]
        labels = []
        for e in engines:
            label = f"{e.backend} {e.precision}" + (f" (openvino failed: {e.backend_note})" if e.backend_note else "")
            if label not in labels:
                labels.append(label)
        return labels

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
