"""Multi-task training: document classification alternated with sentence alignment on parallel sentences.

M'hamdi et al. (2019), sec. 3.2: one embedding layer and one word-level bi-GRU + attention encoder shared by two
tasks, (1) classification with the weighted cross-entropy of eqs. 4-5 and (2) alignment of parallel sentences,
L_sim = 1 - cos(S, T) + beta/2 ||W||^2 (eq. 6), trained alternately with two optimisers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from cltc_tools.errors import InputError
from cltc_tools.io.documents import Document
from cltc_tools.io.parallel import SentencePair
from cltc_tools.text.tokenize import Tokenizer
from cltc_tools.training.features import Encoding, Vocabulary, encode, pad_flat, tokenize_docs
from cltc_tools.training.optim import ClassifierOptimizer

MAX_SENTENCE_LEN = 64
HELD_OUT = 200  # parallel pairs kept aside to monitor the alignment (mean cosine of encoded pairs)


def pairs_for_languages(pairs: Sequence[SentencePair], langs: Sequence[str]) -> list[SentencePair]:
    """Pairs useful to a model of ``langs``: both sides when several languages train together, else one side."""
    wanted = set(langs)
    if len(wanted) > 1:
        return [p for p in pairs if p.src_lang in wanted and p.tgt_lang in wanted]
    return [p for p in pairs if p.src_lang in wanted or p.tgt_lang in wanted]


def pair_documents(pairs: Sequence[SentencePair]) -> tuple[list[Document], list[Document]]:
    src = [Document(f"p{i}-src", p.src_lang, p.src) for i, p in enumerate(pairs)]
    tgt = [Document(f"p{i}-tgt", p.tgt_lang, p.tgt) for i, p in enumerate(pairs)]
    return src, tgt


@dataclass
class ParallelData:
    """Documents and tokens of both sides, for vocabulary building before encoding."""

    src: list[Document]
    tgt: list[Document]
    src_tokens: list
    tgt_tokens: list

    @classmethod
    def from_pairs(cls, pairs: Sequence[SentencePair], tokenizer: Tokenizer) -> ParallelData:
        src, tgt = pair_documents(pairs)
        return cls(src, tgt, tokenize_docs(src, tokenizer), tokenize_docs(tgt, tokenizer))

    def encode(self, vocab: Vocabulary) -> tuple[list[Encoding], list[Encoding]]:
        """Encoded pairs whose two sides both keep at least one known word."""
        src = encode(self.src, self.src_tokens, vocab, MAX_SENTENCE_LEN)
        tgt = encode(self.tgt, self.tgt_tokens, vocab, MAX_SENTENCE_LEN)
        keep = [i for i in range(len(src)) if src[i] and tgt[i]]
        return [src[i] for i in keep], [tgt[i] for i in keep]


def cosine_loss(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos(S, T) over the pairs of a batch (eq. 6 without the weight penalty)."""
    return (1.0 - nn.functional.cosine_similarity(s, t, dim=-1)).mean()


def contrastive_loss(s: torch.Tensor, t: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Eq. 6's cosine with the other pairs of the batch as negatives (InfoNCE, van den Oord et al. 2018, both
    directions): a constant encoder no longer minimises it, as it does 1 - cos(S, T)."""
    cos = nn.functional.normalize(s, dim=-1) @ nn.functional.normalize(t, dim=-1).T / temperature
    target = torch.arange(len(s), device=s.device)
    return 0.5 * (nn.functional.cross_entropy(cos, target) + nn.functional.cross_entropy(cos.T, target))


ALIGNMENT_LOSSES = {"cosine": cosine_loss, "contrastive": contrastive_loss}


def alignment_margin(s: torch.Tensor, t: torch.Tensor) -> tuple[float, float]:
    """Mean cosine of translation pairs, and how much it exceeds the mean cosine of non-translation pairs."""
    cos = nn.functional.normalize(s, dim=-1) @ nn.functional.normalize(t, dim=-1).T
    paired = cos.diagonal().mean()
    unpaired = (cos.sum() - cos.diagonal().sum()) / max(1, cos.numel() - len(cos))
    return float(paired), float(paired - unpaired)


class SentenceAlignment:
    """The alignment task: its own optimiser over the shared embedding and word encoder, and its batches."""

    def __init__(self, model: nn.Module, src: list[Encoding], tgt: list[Encoding], hp: dict[str, Any],
                 device: torch.device):
        self.model = model
        self.device = device
        self.beta = float(hp["beta"])
        if hp.get("ali_loss", "cosine") not in ALIGNMENT_LOSSES:
            raise InputError(f"unknown alignment loss {hp['ali_loss']!r} (known: {', '.join(ALIGNMENT_LOSSES)})")
        self.loss_fn = ALIGNMENT_LOSSES[hp.get("ali_loss", "cosine")]
        self.batch_size = int(hp["ali_batch_size"])
        held = min(HELD_OUT, len(src) // 5)
        self.monitor = (src[:held], tgt[:held])
        self.src, self.tgt = src[held:], tgt[held:]
        self.optimizer = ClassifierOptimizer(model, hp["ali_lr"], modules=model.alignment_modules())
        self.penalised = [p for m in model.alignment_modules() if not isinstance(m, nn.Embedding)
                          for p in m.parameters()]
        self.batches: list[np.ndarray] = []
        self.position = 0

    def plan_epoch(self, rng: np.random.Generator) -> None:
        order = rng.permutation(len(self.src))
        self.batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        self.position = 0

    def encode(self, seqs: Sequence[Encoding]) -> torch.Tensor:
        return self.model.encode_sentences(pad_flat(seqs).to(self.device))

    def step(self) -> float:
        """One alignment step on the next batch of the epoch's plan (cycled)."""
        if not self.batches:
            return 0.0
        batch = self.batches[self.position % len(self.batches)]
        self.position += 1
        self.optimizer.zero_grad()
        s = self.encode([self.src[i] for i in batch])
        t = self.encode([self.tgt[i] for i in batch])
        penalty = 0.5 * self.beta * sum(p.pow(2).sum() for p in self.penalised)
        loss = self.loss_fn(s, t) + penalty
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def monitor_scores(self) -> dict[str, float]:
        """On held-out pairs: mean cosine of translations, and its margin over non-translations."""
        src, tgt = self.monitor
        if not src:
            return {}
        training = self.model.training
        self.model.eval()
        paired, margin = alignment_margin(self.encode(src), self.encode(tgt))
        self.model.train(training)
        return {"alignment_cosine": paired, "alignment_margin": margin}
