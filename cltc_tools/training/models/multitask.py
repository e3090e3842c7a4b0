"""Classifiers multi-tasked with sentence alignment (M'hamdi et al. 2019, sec. 3.2 and Table 5(d)).

The same networks as ``han`` and ``gru-att``; training alternates a classification step with an alignment step on
parallel sentences that shares the embedding layer and the word-level encoder (see cltc_tools.training.alignment_task).
"""

from __future__ import annotations

from cltc_tools.training.models.gru_att import GRUAttention
from cltc_tools.training.models.han import HAN
from cltc_tools.training.models.registry import EMBEDDING_DEFAULTS, PAPER_EMBEDDINGS, Arch

TABLE_5D = {"units": 50, "dropout": 0.5, "lr": 1e-3, "ali_lr": 1e-2, "beta": 1e-10, "batch_size": 15,
            "ali_batch_size": 15, "patience": 20, "ali_loss": "cosine"}
# 1 - cos(S, T) alone is minimised by an encoder that maps every sentence to one vector, which also ends the
# classification; the default adds in-batch negatives (--preset paper keeps eq. 6 as published). The default
# alignment rate is the classifier's: at Table 5's 1e-2 the alignment task pulls the shared encoder away from the
# classification (HAN+Sent-Ali on SIB-200, EN mono: 45.3 F1 at 1e-2, 72.6 at 1e-3; benchmarks/RESULTS.md).
DEFAULTS = {**TABLE_5D, "ali_lr": 1e-3, "ali_loss": "contrastive", "max_epochs": 200, **EMBEDDING_DEFAULTS}

HAN_SENT_ALI = Arch(
    name="han+sent-ali",
    build=HAN,
    defaults={**DEFAULTS, "max_len": 512},
    paper={**TABLE_5D, **PAPER_EMBEDDINGS},
    description="HAN multi-tasked with sentence alignment (eq. 6), two Adam optimisers (paper: 1e-3 and 1e-2)",
    hierarchical=True,
    auxiliary="sent-ali",
)

GRU_ATT_SENT_ALI = Arch(
    name="gru-att+sent-ali",
    build=GRUAttention,
    defaults={**DEFAULTS, "max_len": 256},
    paper={**TABLE_5D, **PAPER_EMBEDDINGS},
    description="bi-GRU with attention multi-tasked with sentence alignment, for short texts",
    auxiliary="sent-ali",
)
