"""Small synthetic worlds for tests: a space whose languages share geometry, and topic documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from cltc_tools.io.space import LangBlock, write_space


def make_tiny_world(root: Path, seed: int = 0, langs: tuple[str, ...] = ("en", "de"),
                    n_train: dict[str, int] | None = None) -> Path:
    """A two-language space whose languages share geometry, and topic documents in <lang>/{train,dev,test}."""
    rng = np.random.default_rng(seed)
    dim, vocab, n_topics = 16, 200, 3
    topics = rng.integers(0, n_topics, vocab)
    latent = (rng.normal(size=(vocab, dim)) + 2.0 * rng.normal(size=(n_topics, dim))[topics]).astype(np.float32)
    blocks = [LangBlock(lang, [f"{lang}w{i}" for i in range(vocab)], latent) for lang in langs]
    write_space(root / "space", blocks, provenance=[{"method": "tiny", "name": "tiny"}])
    counts = n_train or {lang: 120 if i == 0 else 30 for i, lang in enumerate(langs)}
    labels = ["alpha", "beta", "gamma"]
    for lang in langs:
        (root / "docs" / lang).mkdir(parents=True)
        for split, n in (("train", counts[lang]), ("dev", 30), ("test", 45)):
            with open(root / "docs" / lang / f"{split}.jsonl", "wb") as handle:
                for i in range(n):
                    y = i % n_topics
                    words = list(rng.choice(np.where(topics == y)[0], 6)) + list(rng.integers(0, vocab, 8))
                    text = " ".join(f"{lang}w{w}" for w in words)
                    handle.write(orjson.dumps({"id": f"{lang}-{split}-{i}", "lang": lang, "text": text,
                                               "label": labels[y]}) + b"\n")
    return root
