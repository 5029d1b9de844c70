"""Model zoo: every architecture is registered here, explicitly, in one place.

Use ``build(name, **hparams)`` to make a network; ``list(kind)`` to enumerate; ``get(name)`` for the
spec. Importing this package registers the built-in architectures exactly once.
"""

from trainer.models.registry import ArchSpec, build, get, list, register  # noqa: A004
from trainer.models.srresnet import srresnet

register("srresnet", srresnet, kind="generator", description="SRResNet / SRGAN generator (Ledig et al. 2017)")

__all__ = ["ArchSpec", "build", "get", "list", "register"]
