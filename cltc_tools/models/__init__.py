"""Classifier architectures; importing this package registers all of them."""

from cltc_tools.models import mlp  # noqa: F401  (registers "mlp")
from cltc_tools.models.registry import ARCHS, Arch

__all__ = ["ARCHS", "Arch"]
