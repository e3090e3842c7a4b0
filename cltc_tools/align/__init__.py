"""Cross-lingual alignment of embedding spaces (Procrustes, CCA, Attract-Repel, refinement) and word translation."""

from cltc_tools.align.pipeline import AlignResult, align_spaces
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.registry import METHODS

__all__ = ["METHODS", "AlignResult", "align_spaces", "procrustes"]
