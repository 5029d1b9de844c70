"""Qt-free core of SRGAN Desktop: models, losses, data, training, inference, metrics, image I/O.

This package must never import Qt (PySide6), pyqtgraph or ``srgan_desktop``; a test enforces it.
Tensor contract everywhere in the core: images are float32 NCHW RGB in [0, 1].
"""

__version__ = "0.1.0"
