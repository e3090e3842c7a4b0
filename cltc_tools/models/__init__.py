"""Classifier architectures; importing this package registers all of them."""

from cltc_tools.models import cnn, gru_att, han, mlp, multitask  # noqa: F401  (each module registers its architecture)
from cltc_tools.models.registry import ARCHS, Arch

__all__ = ["ARCHS", "Arch"]
