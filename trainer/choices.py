"""Option lists shared by the command lines and the desktop app (standard library only).

The app imports these at start-up instead of keeping copies (no torch, numpy or Pillow here); the
modules that act on them (``trainer.device``, ``trainer.imageio``, ``trainer.pipeline``) import
them from here too.
"""

from __future__ import annotations

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
"""Inference/training precisions (``trainer.device.resolve_dtype``); ``auto``: fp32 on CPU, fp16 on GPUs."""

BACKENDS = ("auto", "torch", "openvino")
"""What runs the network's forward (``trainer.inference.backends``); ``auto``: PyTorch (or what
``SRGAN_BACKEND`` says); OpenVINO runs on the CPU when chosen."""

OUTPUT_FORMATS = ("png", "jpg", "webp", "tiff")
"""Formats offered for outputs. ``trainer.imageio.save_image`` also accepts ``jpeg``, ``tif`` and ``bmp``."""

SAME_FORMAT = "same"
"""Output format choice: the input's decoded format when it can be written, else PNG (``trainer.pipeline.formats``)."""

FORMAT_CHOICES = (SAME_FORMAT, *OUTPUT_FORMATS)
"""What the app's and ``srgan-upscale``'s format pickers offer."""
