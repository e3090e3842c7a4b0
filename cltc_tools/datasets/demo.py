"""A synthetic multilingual world for demos and tests: spaces, dictionaries, parallel text and documents.

The world is made of *concepts*. Each concept has a latent vector in R^D and a surface form in every
language (a pseudo-word from that language's syllables, or, for a few hundred names and numbers, one
string shared by all languages). A language's embedding space is the latent matrix turned by a random
orthogonal rotation of its own, plus a little noise that grows with rarity, so that the languages can be
aligned by orthogonal mappings (Procrustes, VecMap, MUSE) but are not identical.

Some concepts are *topic words* of one label ("sports", "politics", ...); the others are topic-neutral
*general* words. A topic word's latent vector carries its topic only weakly (a shared topic centre times a
small factor, plus a large word-specific part), so a document's averaged vector hints at its label without
giving it away: a classifier needs training data and gets better with more. Word frequencies are Zipfian,
so the rare topic words of a small training set are missing, and the training sets are strongly
imbalanced across languages (many English documents, few Italian ones): the setting in which training on
all languages in one aligned space beats training on the target language alone.

Everything is a pure function of :class:`DemoConfig` (its ``seed`` included): the same configuration gives
byte-identical files. Nothing is printed; errors are raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from cltc_tools.errors import InputError
from cltc_tools.io.atomic import atomic_dir, check_writable, fsync_file
from cltc_tools.io.space import LangBlock, write_space
from cltc_tools.io.vectors import write_vec

NAME = "synthetic"
LANGS: tuple[str, ...] = ("en", "de", "fr", "it")
PIVOT = "en"
LABELS: tuple[str, ...] = ("sports", "politics", "health", "science", "travel", "economy")
SPLITS: tuple[str, ...] = ("train", "dev", "test")

# Component numbers mixed into the seed: each part of the world has its own random stream, so changing
# e.g. the number of documents leaves the spaces unchanged.
_VOCAB, _LATENT, _LANGSPACE, _PARALLEL, _DOCS, _NAMES, _HELDOUT = range(7)
HELDOUT: tuple[str, ...] = ("es",)


@dataclass(frozen=True)
class DemoConfig:
    """The knobs of the synthetic world (defaults: under a second to build, about 7 MB on disk)."""

    seed: int = 0
    dim: int = 64
    langs: tuple[str, ...] = LANGS
    labels: tuple[str, ...] = LABELS
    # vocabulary
    n_concepts: int = 3000          # concepts with a distinct pseudo-word per language
    n_names: int = 180              # identical strings in every language: names ...
    n_numbers: int = 120            # ... and numbers
    n_function: int = 60            # the most frequent concepts: topic-neutral function words
    topic_share: float = 0.45       # share of the other pseudo-word concepts that are topic words
    name_topic_share: float = 0.5   # share of the names that belong to a topic
    zipf: float = 1.0               # word frequency ~ 1 / (rank + 2.7) ** zipf
    freq_jitter: float = 0.3        # per-language log-normal jitter of the frequencies
    # geometry
    topic_strength: float = 0.32    # norm of the topic centre in a topic word's latent vector (word part ~ 1)
    lang_noise: float = 0.65        # per-language noise (relative to the word part), for frequent words ...
    rare_noise: float = 1.1         # ... growing linearly to this for the rarest
    scale: float = 3.0              # overall scale: word vectors of norm ~4, like fastText's
    # dictionaries
    dict_train: int = 1500
    dict_test: int = 500
    # parallel sentences
    parallel_pairs: int = 2000
    sentence_len: tuple[int, int] = (6, 20)
    reorder: dict[str, float] = field(default_factory=lambda: {"en": 0.0, "de": 0.35, "fr": 0.2, "it": 0.25})
    # documents
    train_docs: dict[str, int] = field(default_factory=lambda: {"en": 2000, "de": 400, "fr": 200, "it": 60})
    test_docs: int = 300
    dev_share: float = 0.15
    dev_min: int = 30
    doc_len: tuple[int, int] = (15, 40)
    topic_rate: tuple[float, float] = (0.12, 0.4)   # per document: share of words drawn from the label's topic
    confusion_rate: float = 0.04                    # share of words drawn from another, random topic
    label_weights: tuple[float, ...] = (3.0, 2.2, 1.6, 1.3, 1.0, 1.0)
    # held-out languages: vectors, a dictionary to the pivot and dev/test documents, no training documents
    heldout: tuple[str, ...] = HELDOUT
    heldout_docs: dict[str, int] = field(default_factory=lambda: {"dev": 100, "test": 300})

    def __post_init__(self) -> None:
        if self.dim < 8:
            raise InputError(f"--dim must be at least 8 (got {self.dim})")
        if not 0 <= self.seed < 2**63:
            raise InputError(f"--seed must be a non-negative integer below 2**63 (got {self.seed})")
        if PIVOT not in self.langs or len(set(self.langs)) != len(self.langs):
            raise InputError(f"languages must be distinct and include {PIVOT!r}")
        if set(self.heldout) & set(self.langs) or len(set(self.heldout)) != len(self.heldout):
            raise InputError("held-out languages must be distinct and not among the training languages")
        if len(self.label_weights) != len(self.labels):
            raise InputError("one label weight per label expected")
        if self.dict_train + self.dict_test > self.n_concepts + self.n_names + self.n_numbers:
            raise InputError("dictionaries larger than the vocabulary")

    def train_count(self, lang: str) -> int:
        return int(self.train_docs.get(lang, 0))

    def dev_count(self, lang: str) -> int:
        n = self.train_count(lang)
        return max(self.dev_min, int(round(self.dev_share * n))) if n else 0

    def counts(self) -> dict[str, dict[str, int]]:
        return {lang: {"train": self.train_count(lang), "dev": self.dev_count(lang), "test": self.test_docs}
                for lang in self.langs}

    def params(self) -> dict[str, Any]:
        return {"dim": self.dim, "seed": self.seed}


# --------------------------------------------------------------------------------------------------
# The world in memory


@dataclass
class World:
    """Concepts (index = global frequency rank) and, per language, words and vectors."""

    config: DemoConfig
    topic: np.ndarray                    # [C] label index of each concept, -1 for general words
    shared: np.ndarray                   # [C] bool: identical string in every language
    latent: np.ndarray                   # [C, D] float64
    words: dict[str, list[str]]          # lang -> surface form of each concept
    weights: dict[str, np.ndarray]       # lang -> [C] relative frequency of each concept
    order: dict[str, np.ndarray]         # lang -> concepts, most frequent first (= rows of the space)
    vectors: dict[str, np.ndarray]       # lang -> [C, D] float32 in the order of ``order``

    @property
    def n(self) -> int:
        return int(self.topic.shape[0])


def _rng(config: DemoConfig, component: int, *extra: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([config.seed, component, *extra]))


def _lang_id(lang: str) -> int:
    return int.from_bytes(hashlib.sha256(lang.encode()).digest()[:4], "big")


# Syllable inventories: (onsets, nuclei, codas, endings). Lower-case ASCII only.
_INVENTORIES: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "en": (
        ["b", "br", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "l", "m", "n", "p", "pl", "r",
         "s", "sh", "sl", "st", "str", "t", "th", "tr", "w", "wh", ""],
        ["a", "e", "i", "o", "u", "ea", "ee", "oo", "ou", "ai", "oa"],
        ["", "", "n", "t", "d", "ck", "ng", "s", "st", "nd", "rt", "ll", "sh", "m", "x"],
        ["", "", "", "er", "ing", "ly", "s", "y"],
    ),
    "de": (
        ["b", "br", "d", "f", "fr", "g", "gr", "h", "k", "kl", "kn", "l", "m", "n", "p", "pf", "r", "s", "sch",
         "schl", "schw", "sp", "st", "t", "tr", "w", "z", "zw", ""],
        ["a", "e", "i", "o", "u", "ei", "au", "ie", "eu", "ae", "oe", "ue"],
        ["", "n", "r", "t", "ch", "cht", "ng", "nd", "tz", "st", "rn", "lk", "ss", "ck"],
        ["", "", "e", "en", "ung", "er", "lich", "heit"],
    ),
    "fr": (
        ["b", "bl", "c", "ch", "d", "f", "fl", "g", "gr", "j", "l", "m", "n", "p", "pl", "qu", "r", "s", "t",
         "tr", "v", "vr", ""],
        ["a", "e", "i", "o", "u", "ou", "ai", "oi", "eau", "au", "eu", "ie", "an", "on"],
        ["", "", "", "s", "r", "l", "n"],
        ["", "", "e", "es", "ion", "ment", "eur", "ette", "que", "x"],
    ),
    "it": (
        ["b", "br", "c", "ch", "d", "f", "g", "gh", "gl", "gn", "l", "m", "n", "p", "pr", "r", "s", "sc", "sp",
         "st", "t", "tr", "v", "z", ""],
        ["a", "e", "i", "o", "u", "ia", "io", "ie", "uo"],
        ["", "", "", "", "n", "r", "l", "s", "tt", "ll", "cc", "nn", "ss"],
        ["o", "a", "e", "i", "ione", "ino", "etto", "ezza"],
    ),
    "es": (
        ["b", "br", "c", "ch", "d", "f", "g", "gu", "j", "l", "ll", "m", "n", "p", "pl", "qu", "r", "s", "t",
         "tr", "v", "z", ""],
        ["a", "e", "i", "o", "u", "ia", "ie", "io", "ue", "ua"],
        ["", "", "", "n", "r", "l", "s", "z"],
        ["o", "a", "os", "as", "cion", "dad", "ero", "ito"],
    ),
}
# Languages without an inventory of their own get one derived from the Latin-like letters below.
_GENERIC = (
    ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", ""],
    ["a", "e", "i", "o", "u"],
    ["", "", "n", "r", "s", "l"],
    ["", "a", "o", "en"],
)
_NAME_SYLLABLES = ["mar", "low", "ash", "ford", "kel", "vin", "dor", "ral", "bren", "tas", "quin", "ober", "lind",
                   "hal", "ros", "ven", "cal", "mir", "tor", "wyn", "el", "sten", "gar", "ivo", "nor", "bel",
                   "dan", "ric", "ley", "ton", "yar", "kas", "zel", "orm", "pet", "lux"]


def _pseudo_word(rng: np.random.Generator, inventory: tuple[list[str], ...], syllables: int, short: bool) -> str:
    onsets, nuclei, codas, endings = inventory
    u = rng.random(3 * syllables + 2).tolist()
    parts = []
    for k in range(syllables):
        parts.append(onsets[int(u[3 * k] * len(onsets))])
        parts.append(nuclei[int(u[3 * k + 1] * len(nuclei))])
        parts.append(codas[int(u[3 * k + 2] * len(codas))])
    if not (short and endings[0] == "" and u[-2] < 0.7):
        parts.append(endings[int(u[-1] * len(endings))])
    return "".join(parts)


def _syllable_count(rng: np.random.Generator, quantile: float) -> int:
    """Zipf's law of abbreviation: frequent words are short, rare ones long."""
    if quantile < 0.05:
        return 1
    if quantile < 0.3:
        return 1 + int(rng.random() < 0.5)
    if quantile < 0.7:
        return 2
    return 2 + int(rng.random() < 0.4)


def _lang_words(config: DemoConfig, lang: str, n: int, taken: set[str]) -> list[str]:
    """``n`` distinct pseudo-words in the order of the concepts' global frequency."""
    rng = _rng(config, _VOCAB, _lang_id(lang))
    inventory = _INVENTORIES.get(lang, _GENERIC)
    words: list[str] = []
    seen = set(taken)
    for i in range(n):
        quantile = i / max(n, 1)
        for attempt in range(1000):
            syllables = _syllable_count(rng, quantile) + attempt // 100
            word = _pseudo_word(rng, inventory, syllables, quantile < 0.05)
            if len(word) >= 2 and word not in seen:
                break
        else:  # pragma: no cover - the inventories are far larger than the vocabulary
            raise RuntimeError(f"could not make {n} distinct words for {lang!r}")
        seen.add(word)
        words.append(word)
    return words


def _shared_strings(config: DemoConfig) -> tuple[list[str], list[str]]:
    rng = _rng(config, _NAMES)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < config.n_names:
        k = 2 if rng.random() < 0.8 else 3
        name = "".join(_NAME_SYLLABLES[rng.integers(len(_NAME_SYLLABLES))] for _ in range(k))
        if name not in seen:
            seen.add(name)
            names.append(name)
    n_years = min(config.n_numbers * 2 // 3, 131)
    years = rng.choice(np.arange(1900, 2031), size=n_years, replace=False)
    small = rng.choice(np.arange(2, 1000), size=config.n_numbers - n_years, replace=False)
    numbers = [str(int(x)) for x in np.concatenate([years, small])]
    return names, numbers


def _rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


@dataclass(frozen=True)
class _Concepts:
    """What every language shares: which concepts are shared strings or topic words, and their latent vectors."""

    shared: np.ndarray
    topic: np.ndarray
    latent: np.ndarray
    shared_form: dict[int, str]
    taken: set[str]


def _shared_ranks(config: DemoConfig, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which global frequency ranks hold shared strings (none among the function words): the mask, the names'
    ranks and the numbers' ranks."""
    n_shared = config.n_names + config.n_numbers
    shared = np.zeros(n, dtype=bool)
    shared_ranks = np.sort(rng.choice(np.arange(config.n_function + 40, n), size=n_shared, replace=False))
    shared[shared_ranks] = True
    names_at = shared_ranks[rng.permutation(n_shared)]
    return shared, np.sort(names_at[:config.n_names]), np.sort(names_at[config.n_names:])


def _topics(config: DemoConfig, rng: np.random.Generator, shared: np.ndarray, name_ranks: np.ndarray) -> np.ndarray:
    """Function words and numbers are general (-1); other words and some names belong to a topic."""
    n_labels = len(config.labels)
    topic = np.full(shared.shape[0], -1, dtype=np.int64)
    plain = np.flatnonzero(~shared)
    plain = plain[plain >= config.n_function]
    is_topic = rng.random(plain.shape[0]) < config.topic_share
    topic[plain[is_topic]] = rng.integers(0, n_labels, size=int(is_topic.sum()))
    topical_names = name_ranks[rng.random(name_ranks.shape[0]) < config.name_topic_share]
    topic[topical_names] = rng.integers(0, n_labels, size=topical_names.shape[0])
    return topic


def _latent(config: DemoConfig, rng: np.random.Generator, topic: np.ndarray) -> np.ndarray:
    """A word-specific part of norm ~1 plus, for topic words, a weak topic centre."""
    dim = config.dim
    centres = rng.standard_normal((len(config.labels), dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    latent = rng.standard_normal((topic.shape[0], dim)) / np.sqrt(dim)
    has_topic = topic >= 0
    latent[has_topic] += config.topic_strength * centres[topic[has_topic]]
    return latent


def _concepts(config: DemoConfig) -> _Concepts:
    """The concepts, drawn in one stream (``_LATENT``) in a fixed order, then their shared surface forms."""
    rng = _rng(config, _LATENT)
    n = config.n_concepts + config.n_names + config.n_numbers
    shared, name_ranks, number_ranks = _shared_ranks(config, rng, n)
    topic = _topics(config, rng, shared, name_ranks)
    latent = _latent(config, rng, topic)
    names, numbers = _shared_strings(config)
    shared_form = {int(r): w for r, w in zip(name_ranks, names, strict=True)}
    shared_form.update({int(r): w for r, w in zip(number_ranks, numbers, strict=True)})
    return _Concepts(shared, topic, latent, shared_form, set(names) | set(numbers))


def _language(config: DemoConfig, concepts: _Concepts, lang: str,
              lrng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """One language's surface forms, frequencies, frequency order and vectors (rows in that order)."""
    n, dim = concepts.latent.shape
    own = iter(_lang_words(config, lang, config.n_concepts, concepts.taken))
    words = [concepts.shared_form[i] if concepts.shared[i] else next(own) for i in range(n)]
    weight = 1.0 / (np.arange(n) + 2.7) ** config.zipf * np.exp(config.freq_jitter * lrng.standard_normal(n))
    weight = weight / weight.sum()
    order = np.argsort(-weight, kind="stable")
    rank_in_lang = np.empty(n, dtype=np.float64)
    rank_in_lang[order] = np.arange(n)
    sigma = config.lang_noise + (config.rare_noise - config.lang_noise) * rank_in_lang / max(n - 1, 1)
    noisy = concepts.latent + sigma[:, None] * lrng.standard_normal((n, dim)) / np.sqrt(dim)
    rotated = noisy @ _rotation(lrng, dim)
    return words, weight, order, (config.scale * rotated[order]).astype(np.float32)


def build_world(config: DemoConfig) -> World:
    """Make the concepts, their latent vectors, and every language's words, frequencies and vectors.

    Each language draws from a stream of its own (``_LANGSPACE`` and the language); a held-out language from a
    separate one (``_HELDOUT`` first), made after the others, so that adding one changes no other file."""
    concepts = _concepts(config)
    world = World(config, concepts.topic, concepts.shared, concepts.latent, {}, {}, {}, {})
    streams = [(lang, _rng(config, _LANGSPACE, _lang_id(lang))) for lang in config.langs]
    streams += [(lang, _rng(config, _HELDOUT, _LANGSPACE, _lang_id(lang))) for lang in config.heldout]
    for lang, lrng in streams:
        (world.words[lang], world.weights[lang], world.order[lang],
         world.vectors[lang]) = _language(config, concepts, lang, lrng)
    return world


# --------------------------------------------------------------------------------------------------
# Text: dictionaries, parallel sentences, documents


def dictionary_pairs(world: World, src: str, tgt: str) -> dict[str, list[tuple[str, str]]]:
    """Train (the most frequent source concepts) and test (the next ones, no identical strings) pairs."""
    cfg = world.config
    ranked = world.order[src]
    train = [int(c) for c in ranked[:cfg.dict_train]]
    test = [int(c) for c in ranked[cfg.dict_train:] if not world.shared[c]][:cfg.dict_test]
    return {split: [(world.words[src][c], world.words[tgt][c]) for c in concepts]
            for split, concepts in (("train", train), ("test", test))}


class _Sampler:
    """Draw concepts of one group (a topic, or the general words) with a language's frequencies."""

    def __init__(self, members: np.ndarray, weights: np.ndarray):
        self.members = members
        cdf = np.cumsum(weights[members])
        self.cdf = cdf / cdf[-1]

    def pick(self, u: np.ndarray) -> np.ndarray:
        """Concepts for uniform draws ``u`` in [0, 1)."""
        idx = np.searchsorted(self.cdf, u, side="right")
        return self.members[np.minimum(idx, len(self.members) - 1)]


def _samplers(world: World, lang: str) -> tuple[_Sampler, list[_Sampler]]:
    weights = world.weights[lang]
    general = _Sampler(np.flatnonzero(world.topic < 0), weights)
    topics = [_Sampler(np.flatnonzero(world.topic == t), weights) for t in range(len(world.config.labels))]
    return general, topics


def _concept_sequences(rng: np.random.Generator, general: _Sampler, topics: list[_Sampler], labels: np.ndarray,
                       lengths: np.ndarray, topic_rates: np.ndarray, confusion_rate: float) -> list[np.ndarray]:
    """One concept sequence per (label, length, topic rate): each position independently holds a word of
    the label's topic (probability = topic rate), of a random topic (``confusion_rate``) or a general word."""
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(lengths)), lengths)
    kind_u, topic_u, word_u = rng.random(total), rng.integers(0, len(topics), size=total), rng.random(total)
    group = np.where(kind_u < topic_rates[owner], labels[owner],
                     np.where(kind_u < topic_rates[owner] + confusion_rate, topic_u, -1))
    concepts = np.empty(total, dtype=np.int64)
    at = group < 0
    concepts[at] = general.pick(word_u[at])
    for t, sampler in enumerate(topics):
        at = group == t
        concepts[at] = sampler.pick(word_u[at])
    return np.split(concepts, np.cumsum(lengths)[:-1])


def _reorder(u: np.ndarray, seq: list[str], rate: float) -> list[str]:
    """Swap neighbouring words (non-overlapping pairs) where ``u < rate``: local reordering."""
    out = list(seq)
    i = 0
    while i < len(out) - 1:
        if u[i] < rate:
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 2
        else:
            i += 1
    return out


def parallel_pairs(world: World, src: str, tgt: str) -> list[dict[str, str]]:
    """Sentence pairs: one concept sequence rendered in both languages, the source locally reordered."""
    cfg = world.config
    rng = _rng(cfg, _PARALLEL, _lang_id(src), _lang_id(tgt))
    general, topics = _samplers(world, tgt)
    lo, hi = cfg.sentence_len
    n = cfg.parallel_pairs
    lengths = rng.integers(lo, hi + 1, size=n)
    labels = rng.integers(0, len(topics), size=n)
    seqs = _concept_sequences(rng, general, topics, labels, lengths, np.full(n, 0.3), 0.05)
    src_words, tgt_words = world.words[src], world.words[tgt]
    src_rate, tgt_rate = cfg.reorder.get(src, 0.2), cfg.reorder.get(tgt, 0.0)
    pairs = []
    for seq in seqs:
        u = rng.random((2, len(seq)))
        left = _reorder(u[0], [src_words[c] for c in seq], src_rate)
        right = _reorder(u[1], [tgt_words[c] for c in seq], tgt_rate)
        pairs.append({"src_lang": src, "src": " ".join(left), "tgt_lang": tgt, "tgt": " ".join(right)})
    return pairs


def documents(world: World, lang: str, counts: dict[str, int] | None = None,
              stream: tuple[int, ...] = ()) -> dict[str, list[dict[str, str]]]:
    """Labelled documents of one language per split (ids ``<lang>-<split>-<i>``): ``counts`` per split (default:
    the configuration's), each split drawn from its own stream (``stream`` prefixes it: held-out languages)."""
    cfg = world.config
    general, topics = _samplers(world, lang)
    prior = np.asarray(cfg.label_weights, dtype=np.float64)
    prior /= prior.sum()
    lo, hi = cfg.doc_len
    words = world.words[lang]
    counts = cfg.counts()[lang] if counts is None else counts
    out: dict[str, list[dict[str, str]]] = {}
    for s, split in enumerate(SPLITS):
        if split not in counts:
            continue
        rng = _rng(cfg, *stream, _DOCS, _lang_id(lang), s)
        n = counts[split]
        labels = rng.choice(len(cfg.labels), size=n, p=prior)
        lengths = rng.integers(lo, hi + 1, size=n)
        rates = rng.uniform(*cfg.topic_rate, size=n)
        seqs = _concept_sequences(rng, general, topics, labels, lengths, rates, cfg.confusion_rate) if n else []
        out[split] = [{"id": f"{lang}-{split}-{i}", "lang": lang, "text": " ".join(words[c] for c in seq),
                       "label": cfg.labels[int(label)]}
                      for i, (label, seq) in enumerate(zip(labels, seqs, strict=True))]
    return out


# --------------------------------------------------------------------------------------------------
# Writing the folder


@dataclass(frozen=True)
class Artifact:
    """One file or folder of the demo world; ``path`` is relative to the demo folder."""

    kind: str                    # "space", "dictionary", "corpus" or "dataset" (the record kind)
    path: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class DemoResult:
    """What was written: the artifacts of the training languages (the demo's records) and the held-out ones
    (files only: no record, so that a pipeline reading the demo's records never trains on them)."""

    path: Path
    artifacts: list[Artifact]
    heldout: list[Artifact] = field(default_factory=list)


def _write_lines(path: Path, lines: Sequence[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.writelines(lines)
    fsync_file(path)


def _jsonl(objs: Sequence[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(obj) + b"\n" for obj in objs]


def readme(config: DemoConfig) -> str:
    """The README.md of a demo folder."""
    counts = config.counts()
    rows = "\n".join(f"| {lang} | {c['train']} | {c['dev']} | {c['test']} |" for lang, c in counts.items())
    others = [lang for lang in config.langs if lang != PIVOT]
    small = min(others, key=config.train_count) if others else PIVOT
    names, numbers = _shared_strings(config)
    n_shared = config.n_names + config.n_numbers
    n_vocab = config.n_concepts + n_shared
    examples = ", ".join(f"`{w}`" for w in [*names[:3], *numbers[:2]])
    return f"""# The {NAME} demo world

Made by `cltc-data demo --seed {config.seed} --dim {config.dim}`. Everything here is **{NAME}**:
invented languages ({", ".join(config.langs)}) made of pseudo-words, with a known hidden
structure, so that every step of cross-lingual text classification can be run and checked in
seconds. The same seed gives byte-identical files.

## How the world is made
- {n_vocab} concepts, each with a latent vector in R^{config.dim}. {config.n_concepts} of them have a
  different pseudo-word in every language (built from language-specific syllables); {n_shared} are
  identical strings in every language, names and numbers ({examples}, ...).
- Every language's space is the latent matrix turned by an unknown random orthogonal rotation of
  its own, plus some noise that grows with rarity: orthogonal maps align the spaces well.
- Labels: {", ".join(config.labels)}. Some concepts are topic words of one label, the
  rest are general words. A topic word's vector carries its topic only weakly, so a classifier
  needs training data and gets better with more. Word frequencies are Zipfian; the rows of every
  space are ordered by frequency, most frequent first.

## Files
- `spaces/<lang>/`: one monolingual cltc-space per language ({n_vocab} words, {config.dim} dimensions).
- `dictionaries/<lang>-{PIVOT}.train.txt` and `.test.txt` ({", ".join(others)}): MUSE format, one
  `source target` pair per line, by source frequency. Train: the {config.dict_train} most frequent source
  words; test: the next {config.dict_test}, identical strings excluded.
- `parallel/<lang>-{PIVOT}.jsonl`: {config.parallel_pairs} sentence pairs each, JSONL
  `{{"src_lang", "src", "tgt_lang", "tgt"}}`; word order differs locally between the two sides.
- `docs/<lang>/{{train,dev,test}}.jsonl`: labelled documents, JSONL `{{"id", "lang", "text", "label"}}`,
  {config.doc_len[0]}-{config.doc_len[1]} words each. The labels are imbalanced, and so are the languages:

| lang | train | dev | test |
|------|------:|----:|-----:|
{rows}

## What it shows
Map each space onto English with orthogonal Procrustes fitted on the train dictionary: word
translation P@1 on the test dictionary is about 0.85-0.9. Represent each document by the average of
its word vectors and train a logistic regression: on the {counts[small]["train"]} `{small}` training documents
alone it reaches a macro-F1 of about 0.5-0.6 on the `{small}` test set; on the training documents of
all languages in the aligned space, about 0.8 (English alone: about 0.8-0.85). These are the
numbers for the default settings (`--dim 64`, seeds 0-2).
"""


def _space_artifact(tmp: Path, world: World, lang: str) -> Artifact:
    rel = f"spaces/{lang}"
    words = [world.words[lang][int(c)] for c in world.order[lang]]
    (tmp / "spaces").mkdir(exist_ok=True)
    cfg = world.config
    sha = write_space(tmp / rel, [LangBlock(lang, words, world.vectors[lang])],
                      extra={"synthetic": {"name": NAME, "tool": "cltc-data demo", **cfg.params()}})
    return Artifact("space", rel, {"sha256": sha, "langs": [lang], "method": "demo", "params": cfg.params(),
                                   "inputs": []})


def _dictionary_artifacts(tmp: Path, world: World, lang: str) -> list[Artifact]:
    found = []
    for split, pairs in dictionary_pairs(world, lang, PIVOT).items():
        rel = f"dictionaries/{lang}-{PIVOT}.{split}.txt"
        _write_lines(tmp / rel, [f"{s} {t}\n".encode() for s, t in pairs])
        found.append(Artifact("dictionary", rel, {"src_lang": lang, "tgt_lang": PIVOT, "split": split,
                                                  "pairs": len(pairs)}))
    return found


def _write_heldout(tmp: Path, world: World) -> list[Artifact]:
    """Every held-out language: its space, its word vectors as a .vec.gz file (as one would download them),
    its dictionaries to the pivot and its dev/test documents under heldout/<lang>/ (not under docs/)."""
    cfg = world.config
    found: list[Artifact] = []
    for lang in cfg.heldout:
        found.append(_space_artifact(tmp, world, lang))
        words = [world.words[lang][int(c)] for c in world.order[lang]]
        (tmp / "heldout").mkdir(exist_ok=True)
        write_vec(tmp / "heldout" / f"{lang}.vec.gz", words, world.vectors[lang])
        found.append(Artifact("vectors", f"heldout/{lang}.vec.gz", {"lang": lang, "words": len(words)}))
        found += _dictionary_artifacts(tmp, world, lang)
        counts = {}
        for split, docs in documents(world, lang, cfg.heldout_docs, (_HELDOUT,)).items():
            _write_lines(tmp / "heldout" / lang / f"{split}.jsonl", _jsonl(docs))
            counts[split] = len(docs)
        found.append(Artifact("dataset", "heldout", {"name": f"{NAME}-heldout", "langs": [lang],
                                                     "counts": {lang: counts}, "labels": list(cfg.labels)}))
    if cfg.heldout:
        _write_lines(tmp / "heldout" / "README.md", [heldout_readme(cfg).encode()])
    return found


def heldout_readme(config: DemoConfig) -> str:
    """The README.md of the held-out folder."""
    langs = ", ".join(config.heldout)
    docs = ", ".join(f"{n} {split}" for split, n in config.heldout_docs.items())
    return f"""# Held-out languages of the {NAME} demo world: {langs}

Languages made from the same concepts as the others but held out of training: they have no training
documents and `cltc-data demo` prints no record for them, so a pipeline on its records never sees them.
They are there to evaluate a trained model on a language it never saw (zero-shot).

- `heldout/<lang>.vec.gz`: the word vectors, as a downloaded .vec file (also as the space `spaces/<lang>/`).
- `dictionaries/<lang>-{PIVOT}.train.txt` and `.test.txt`: MUSE dictionaries to {PIVOT}, made like the others.
- `heldout/<lang>/{{dev,test}}.jsonl`: labelled documents ({docs}).

Every held-out file is drawn from random streams of its own, after the training languages: the files of the
training languages are byte-identical with or without them. One command evaluates a model on one:

    cltc-eval --model MODEL --data demo/heldout --vectors es=demo/heldout/es.vec.gz \\
        --dict demo/dictionaries/es-en.train.txt --out runs/es
"""


def write_demo(out: str | Path, config: DemoConfig | None = None, force: bool = False) -> DemoResult:
    """Build the world and write the demo folder ``out`` atomically; returns what was written."""
    config = config or DemoConfig()
    check_writable(Path(out), force)
    world = build_world(config)
    artifacts: list[Artifact] = []
    others = [lang for lang in config.langs if lang != PIVOT]
    with atomic_dir(out, force=force) as tmp:
        artifacts += [_space_artifact(tmp, world, lang) for lang in config.langs]
        for lang in others:
            artifacts += _dictionary_artifacts(tmp, world, lang)
        for lang in others:
            rel = f"parallel/{lang}-{PIVOT}.jsonl"
            pairs = parallel_pairs(world, lang, PIVOT)
            _write_lines(tmp / rel, _jsonl(pairs))
            artifacts.append(Artifact("corpus", rel, {"src_lang": lang, "tgt_lang": PIVOT, "pairs": len(pairs)}))
        counts: dict[str, dict[str, int]] = {}
        for lang in config.langs:
            counts[lang] = {}
            for split, docs in documents(world, lang).items():
                _write_lines(tmp / "docs" / lang / f"{split}.jsonl", _jsonl(docs))
                counts[lang][split] = len(docs)
        artifacts.append(Artifact("dataset", "docs", {"name": NAME, "langs": list(config.langs),
                                                      "splits": list(SPLITS), "counts": counts,
                                                      "labels": list(config.labels)}))
        _write_lines(tmp / "README.md", [readme(config).encode()])
        heldout = _write_heldout(tmp, world)
        for sub in tmp.rglob("*"):  # mkdtemp makes private folders; the demo is for everyone to read
            sub.chmod(0o755 if sub.is_dir() else 0o644)
        tmp.chmod(0o755)
    return DemoResult(Path(out), artifacts, heldout)
