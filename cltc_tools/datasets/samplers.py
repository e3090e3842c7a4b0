"""Deterministic samplers over documents JSONL: stratified train/dev/test splits and per-language caps.

Both keep every selected line byte for byte (unknown fields included) and in input order. Randomness comes
from ``random.Random(f"{seed}:{lang}")``, one stream per language, so a language's selection does not change
when another language is added. Stratification is by label within each language: the number of documents of
a label in a split is the split size times the label's share, rounded by largest remainder (Hamilton), hence
within one document of the exact proportion (for train, dev and test at once: controlled rounding).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cltc_tools.datasets.common import SPLIT_NAMES, dataset_files, label_key
from cltc_tools.errors import InputError
from cltc_tools.io.documents import document_from_json, parse_json_object
from cltc_tools.io.textfile import iter_lines

# Training documents per language in the paper's RCV setting (M'hamdi et al. 2019).
PAPER_SHARES: dict[str, int] = {"en": 418566, "de": 50387, "fr": 40470, "it": 12566}


@dataclass(frozen=True)
class Line:
    """One document line: the raw bytes to copy, and what sampling needs to know."""

    raw: bytes
    lang: str
    label: str                   # the stratum: the label, a multi-label list joined by '|', '' for none
    labels: tuple[str, ...] = ()


@dataclass
class Pool:
    """Document lines by (lang, split), in input order."""

    groups: dict[tuple[str, str], list[Line]] = field(default_factory=lambda: defaultdict(list))
    labels: set[str] = field(default_factory=set)

    def langs(self) -> list[str]:
        return sorted({lang for lang, _ in self.groups})

    def lines(self, lang: str, split: str) -> list[Line]:
        return self.groups.get((lang, split), [])


def read_lines(path: str | Path) -> list[Line]:
    """Every document of a JSONL file (checked as documents; blank lines skipped); an empty file is an error."""
    path = Path(path)
    out: list[Line] = []
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        doc = document_from_json(parse_json_object(line, path, line_no), path, line_no)
        labels = () if doc.label is None else tuple(doc.label) if isinstance(doc.label, list) else (doc.label,)
        out.append(Line(line.encode("utf-8"), doc.lang, label_key(doc.label), labels))
    if not out:
        raise InputError("no documents (the file is empty)", path)
    return out


def split_of_file(path: Path, default: str) -> str:
    """``.../train.jsonl`` -> train (``val``/``valid`` -> dev); a file not named after a split holds ``default``."""
    stem = path.name.removesuffix(".gz").removesuffix(".jsonl")
    return SPLIT_NAMES.get(stem, default)


def read_pool(inputs: Sequence[str | Path], default_split: str = "train") -> Pool:
    """Documents from dataset folders (``<lang>/<split>.jsonl``) and files (split from the file name)."""
    pool = Pool()
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise InputError("no such file or folder", path)
        if path.is_dir():
            files = dataset_files(path)
            if not files:
                raise InputError("no <lang>/<split>.jsonl files in this folder", path)
            pairs = [(f, f.name.removesuffix(".gz").removesuffix(".jsonl")) for f in files]
        else:
            pairs = [(path, split_of_file(path, default_split))]
        for file, split in pairs:
            for line in read_lines(file):
                pool.groups[(line.lang, split)].append(line)
                pool.labels.update(line.labels)
    return pool


def read_documents_pool(inputs: Sequence[str | Path]) -> list[Line]:
    """All documents of the given JSONL files and dataset folders (every split), in order (for splitting)."""
    lines: list[Line] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            files = dataset_files(path)
            if not files:
                raise InputError("no <lang>/<split>.jsonl files in this folder", path)
        else:
            files = [path]
        for file in files:
            lines.extend(read_lines(file))
    return lines


# --------------------------------------------------------------------------------------------------
# Apportionment


def apportion(total: int, weights: Mapping[str, int], caps: Mapping[str, int] | None,
              rng: random.Random) -> dict[str, int]:
    """Split ``total`` units over groups in proportion to ``weights`` by largest remainder, never more than a
    group's cap; ties are broken by ``rng``. Each share is within one unit of its exact quota when no cap binds."""
    keys = sorted(weights)
    caps = caps if caps is not None else weights
    whole = sum(weights[k] for k in keys)
    total = max(0, min(total, sum(caps[k] for k in keys)))
    if whole == 0 or total == 0:
        return {k: 0 for k in keys}
    alloc = {k: min(total * weights[k] // whole, caps[k]) for k in keys}
    remainder = {k: total * weights[k] % whole for k in keys}
    tie = {k: rng.random() for k in keys}
    order = sorted(keys, key=lambda k: (-remainder[k], tie[k]))
    left = total - sum(alloc.values())
    while left > 0:
        gave = False
        for k in order:
            if left == 0:
                break
            if alloc[k] < caps[k]:
                alloc[k] += 1
                left -= 1
                gave = True
        if not gave:  # pragma: no cover - total was capped by the sum of the caps
            break
    return alloc


def controlled_round(sizes: Mapping[str, int], totals: Sequence[int], rng: random.Random) -> dict[str, list[int]]:
    """Split every group of ``sizes`` over columns of sizes ``totals`` (summing to the whole) in proportion:
    each cell is its exact quota ``size * total / whole`` rounded down or up, every group's row sums to its
    size and every column to its total (controlled rounding, found as a flow; larger remainders first)."""
    keys = sorted(sizes)
    whole = sum(sizes[k] for k in keys)
    if sum(totals) != whole:
        raise ValueError("the column totals must add up to the sum of the sizes")
    if whole == 0:
        return {k: [0] * len(totals) for k in keys}
    cells = {k: [sizes[k] * t // whole for t in totals] for k in keys}
    rest = {(k, j): sizes[k] * t % whole for k in keys for j, t in enumerate(totals)}
    row_need = {k: sizes[k] - sum(cells[k]) for k in keys}
    col_need = [t - sum(cells[k][j] for k in keys) for j, t in enumerate(totals)]
    tie = {edge: rng.random() for edge in rest}
    edges = sorted((e for e in rest if rest[e] > 0), key=lambda e: (-rest[e], tie[e]))
    used: set[tuple[str, int]] = set()
    for k, j in edges:  # greedy by largest remainder ...
        if row_need[k] > 0 and col_need[j] > 0:
            used.add((k, j))
            row_need[k] -= 1
            col_need[j] -= 1
    while any(row_need[k] > 0 for k in keys):  # ... then augmenting paths for what the greedy pass left
        if not _augment(keys, edges, used, row_need, col_need):  # pragma: no cover - a rounding always exists
            raise RuntimeError("controlled rounding failed")
    for k, j in used:
        cells[k][j] += 1
    return cells


def _augment(keys: list[str], edges: list[tuple[str, int]], used: set[tuple[str, int]],
             row_need: dict[str, int], col_need: list[int]) -> bool:
    """One augmenting path from a row that needs a unit to a column that needs one (breadth first)."""
    by_row: dict[str, list[int]] = defaultdict(list)
    by_col: dict[int, list[str]] = defaultdict(list)
    for k, j in edges:
        by_row[k].append(j)
        by_col[j].append(k)
    starts = [k for k in keys if row_need[k] > 0]
    parent_col: dict[int, str] = {}
    parent_row: dict[str, int | None] = {k: None for k in starts}
    queue = list(starts)
    while queue:
        k = queue.pop(0)
        for j in by_row[k]:
            if (k, j) in used or j in parent_col:
                continue
            parent_col[j] = k
            if col_need[j] > 0:
                row, col = k, j
                col_need[j] -= 1
                while True:  # flip the path: add forward edges, remove backward ones
                    used.add((row, col))
                    back = parent_row[row]
                    if back is None:
                        row_need[row] -= 1
                        return True
                    used.discard((row, back))
                    row, col = parent_col[back], back
            for k2 in by_col[j]:
                if (k2, j) in used and k2 not in parent_row:
                    parent_row[k2] = j
                    queue.append(k2)
    return False


def _by_label(lines: Sequence[Line]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        groups[line.label].append(i)
    return groups


def _rng(seed: int, lang: str, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{lang}:{purpose}")


def _round(x: float) -> int:
    return int(x + 0.5)


# --------------------------------------------------------------------------------------------------
# Stratified split


def stratified_split(lines: Sequence[Line], dev: float, test: float, seed: int) -> dict[tuple[str, str], list[Line]]:
    """Split documents into train/dev/test per language, stratified by label; input order is kept."""
    if not (0 <= dev < 1 and 0 <= test < 1 and dev + test < 1):
        raise InputError(f"--dev and --test must be fractions in [0, 1) with a sum below 1 (got {dev}, {test})")
    by_lang: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_lang[line.lang].append(line)
    out: dict[tuple[str, str], list[Line]] = {}
    for lang in sorted(by_lang):
        items = by_lang[lang]
        rng = _rng(seed, lang, "split")
        groups = _by_label(items)
        sizes = {label: len(idx) for label, idx in groups.items()}
        n = len(items)
        n_test, n_dev = _round(test * n), _round(dev * n)
        cells = controlled_round(sizes, [n_test, n_dev, n - n_test - n_dev], rng)
        assigned: dict[int, str] = {}
        for label in sorted(groups):
            idx = groups[label][:]
            rng.shuffle(idx)
            t, d = cells[label][0], cells[label][1]
            for i in idx[:t]:
                assigned[i] = "test"
            for i in idx[t:t + d]:
                assigned[i] = "dev"
        for split in ("train", "dev", "test"):
            chosen = [line for i, line in enumerate(items) if assigned.get(i, "train") == split]
            if chosen:
                out[(lang, split)] = chosen
    return out


# --------------------------------------------------------------------------------------------------
# Caps and the low-data regime


def shares_caps(shares: Mapping[str, int], available: Mapping[str, int], total: int | None,
                exempt: Iterable[str] = ()) -> dict[str, int]:
    """Caps in proportion to ``shares``: scaled so that the language with the largest share keeps all its
    documents, or so that all languages together get ``total`` documents. A language without a share is an
    error unless it is ``exempt`` (capped otherwise)."""
    present = [lang for lang in sorted(available) if available[lang] > 0]
    missing = [lang for lang in present if lang not in shares and lang not in set(exempt)]
    if missing:
        raise InputError(f"no share for language(s) {', '.join(missing)}: give --cap "
                         + ",".join(f"{lang}=N" for lang in missing))
    langs = [lang for lang in present if lang in shares]
    if not langs:
        return {}
    if total is not None:
        whole = sum(shares[lang] for lang in langs)
        return {lang: max(1, total * shares[lang] // whole) for lang in langs}
    top = max(langs, key=lambda lang: (shares[lang], lang))
    return {lang: max(1, available[top] * shares[lang] // shares[top]) for lang in langs}


def cap_sample(lines: Sequence[Line], cap: int, seed: int, lang: str) -> list[Line]:
    """At most ``cap`` documents, stratified by label, in input order."""
    if cap >= len(lines):
        return list(lines)
    rng = _rng(seed, lang, "sample")
    groups = _by_label(lines)
    sizes = {label: len(idx) for label, idx in groups.items()}
    counts = apportion(cap, sizes, None, rng)
    keep: set[int] = set()
    for label in sorted(groups):
        idx = groups[label][:]
        rng.shuffle(idx)
        keep.update(idx[:counts[label]])
    return [line for i, line in enumerate(lines) if i in keep]


@dataclass
class SamplePlan:
    caps: dict[str, int]          # effective cap per language of the sampled split (absent: no cap)
    short: dict[str, int]         # languages with fewer documents than their cap: lang -> available


def plan_caps(
    available: Mapping[str, int], caps: Mapping[str, int] | None = None, shares: Mapping[str, int] | None = None,
    total: int | None = None, max_docs: int | None = None,
) -> SamplePlan:
    """The cap of every language: the smallest of --cap, the share-based cap and --max-docs."""
    unknown = sorted(set(caps or {}) - set(available))
    if unknown:
        raise InputError(f"--cap names language(s) not in the data: {', '.join(unknown)} "
                         f"(languages: {', '.join(sorted(available))})")
    if total is not None and shares is None:
        raise InputError("--total needs --shares")
    if max_docs is not None and max_docs < 1:
        raise InputError("--max-docs must be at least 1")
    if total is not None and total < 1:
        raise InputError("--total must be at least 1")
    explicit = dict(caps or {})
    from_shares = shares_caps(shares, available, total, exempt=explicit) if shares is not None else {}
    out: dict[str, int] = {}
    for lang in sorted(available):
        options = [c for c in (explicit.get(lang), from_shares.get(lang), max_docs) if c is not None]
        if options:
            out[lang] = min(options)
    short = {lang: available[lang] for lang, cap in out.items() if available[lang] < cap}
    return SamplePlan(out, short)


def sample_pool(pool: Pool, split: str, plan: SamplePlan, seed: int) -> dict[tuple[str, str], list[Line]]:
    """The pool with the documents of ``split`` capped per language; the other splits unchanged."""
    out: dict[tuple[str, str], list[Line]] = {}
    for (lang, name), lines in sorted(pool.groups.items()):
        if name == split and lang in plan.caps:
            out[(lang, name)] = cap_sample(lines, plan.caps[lang], seed, lang)
        else:
            out[(lang, name)] = list(lines)
    return out


def raw_groups(groups: Mapping[tuple[str, str], Iterable[Line]]) -> dict[tuple[str, str], list[bytes]]:
    return {key: [line.raw for line in lines] for key, lines in groups.items()}


def labels_of(groups: Mapping[tuple[str, str], Iterable[Line]]) -> set[str]:
    return {label for lines in groups.values() for line in lines for label in line.labels}
