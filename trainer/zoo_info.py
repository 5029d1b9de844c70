"""What each model is for: the shipped-model table (stdlib only, re-exported by :mod:`trainer.zoo`).

Kept apart from :mod:`trainer.zoo` (which imports torch) so command-line ``--help`` texts can show
it without loading torch. A model file overrides the table with its metadata key ``intended_for``;
a model neither in the table nor carrying the key has no stated purpose (``""``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The shipped model the app and srgan-upscale use for clean inputs (and when nothing is chosen).
DEFAULT_MODEL = "srgan_x4"
# The shipped model trained on realistic degradations (blur, noise, JPEG): what "auto" uses for
# inputs that were decoded from a lossy format. It may be absent (it ships later than the others).
PHOTO_MODEL = "photo_x4"
INTENDED_FOR_KEY = "intended_for"

SHIPPED_INTENDED_FOR: dict[str, str] = {
    DEFAULT_MODEL: "clean images",
    "srresnet_x4": "clean images",
    PHOTO_MODEL: "photos: JPEG, noise",
}
"""Shipped model name -> the inputs it is meant for (shown in pickers and ``--help``)."""


def intended_for(name: str, metadata: Mapping[str, Any], *, shipped: bool) -> str:
    """The metadata's ``intended_for``, else the shipped table's entry (shipped models only), else ``""``."""
    value = metadata.get(INTENDED_FOR_KEY)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return SHIPPED_INTENDED_FOR.get(name, "") if shipped else ""


def shipped_models_help() -> str:
    """``srgan_x4 (clean images), srresnet_x4 (clean images), photo_x4 (photos: JPEG, noise)``."""
    return ", ".join(f"{name} ({purpose})" for name, purpose in SHIPPED_INTENDED_FOR.items())
