"""Cross-lingual alignment of embedding spaces (Procrustes) and word-translation evaluation."""

from cltc_tools.align.pipeline import AlignResult, align_spaces
from cltc_tools.align.procrustes import procrustes
from cltc_tools.align.registry import METHODS

__all__ = ["METHODS", "AlignResult", "align_spaces", "procrustes"]
