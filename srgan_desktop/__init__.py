"""SRGAN Desktop: the PySide6 application. Qt lives here only; all computation is in ``trainer``."""

__version__ = "0.1.0"
