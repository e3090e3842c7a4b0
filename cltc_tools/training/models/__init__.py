"""Classifier architectures: one module each, registered here by name."""

from cltc_tools.training.models import cnn, gru_att, han, mlp, multitask
from cltc_tools.training.models.registry import ARCHS, Arch

ARCHS.register("mlp", mlp.MLP)
ARCHS.register("cnn", cnn.CNN)
ARCHS.register("gru-att", gru_att.GRU_ATT)
ARCHS.register("han", han.HAN_ARCH)
ARCHS.register("han+sent-ali", multitask.HAN_SENT_ALI)
ARCHS.register("gru-att+sent-ali", multitask.GRU_ATT_SENT_ALI)

__all__ = ["ARCHS", "Arch"]
