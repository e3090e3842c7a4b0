"""Classifier architectures: one module each, registered here by name.

The entries are deferred: an architecture's module (and torch) is imported when the architecture is first used,
so that listing the names (``cltc-train --help``) stays fast.
"""

from importlib import import_module

from cltc_tools.training.models.registry import ARCHS, Arch


def _entry(module: str, name: str):
    return lambda: getattr(import_module(f"cltc_tools.training.models.{module}"), name)


ARCHS.register_deferred("mlp", _entry("mlp", "MLP"))
ARCHS.register_deferred("cnn", _entry("cnn", "CNN"))
ARCHS.register_deferred("gru-att", _entry("gru_att", "GRU_ATT"))
ARCHS.register_deferred("han", _entry("han", "HAN_ARCH"))
ARCHS.register_deferred("han+sent-ali", _entry("multitask", "HAN_SENT_ALI"))
ARCHS.register_deferred("gru-att+sent-ali", _entry("multitask", "GRU_ATT_SENT_ALI"))

__all__ = ["ARCHS", "Arch"]
