"""Library entry of cltc-align: map every language onto a pivot, write one multilingual space, evaluate."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from cltc_tools.align.dictionary import IDENTICAL, IndexPairs, concat, identical_pairs, index_pairs, require_usable
from cltc_tools.align.normalize import normalize, parse_steps
from cltc_tools.align.registry import METHODS
from cltc_tools.align.translation import TranslationScores, pick_device, word_translation
from cltc_tools.errors import InputError
from cltc_tools.io.dictionaries import Dictionary, read_dictionary
from cltc_tools.io.records import file_sha256, make_record
from cltc_tools.io.space import LangBlock, Space, open_space, write_space

TOOL = "cltc-align"
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]


@dataclass
class Evaluation:
    """Word-translation scores of one evaluation dictionary on the aligned space."""

    dictionary: str
    sha256: str
    src_lang: str
    tgt_lang: str
    scores: TranslationScores


@dataclass
class AlignResult:
    path: Path
    sha256: str
    langs: list[str]
    method: str
    name: str
    params: dict[str, Any]
    inputs: list[str]
    dictionaries: list[IndexPairs] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)

    def record_fields(self) -> dict[str, Any]:
        """The fields of the ``space`` record (SPEC section 2)."""
        return {"path": str(self.path), "sha256": self.sha256, "langs": self.langs, "method": self.method,
                "name": self.name, "params": self.params, "inputs": self.inputs}


def space_sha256(space: Space) -> str:
    """The content hash write_space stores (words.txt bytes, then the matrix rows); computed if absent."""
    if space.sha256:
        return space.sha256
    digest = hashlib.sha256((space.path / "words.txt").read_bytes())
    for start in range(0, len(space), 65536):
        digest.update(np.ascontiguousarray(space.vectors[start:start + 65536], dtype=np.float32).tobytes())
    return digest.hexdigest()


def languages(spaces: Sequence[Space]) -> dict[str, Space]:
    """language -> the space that holds it, in input order; a language in two spaces is an error."""
    table: dict[str, Space] = {}
    for space in spaces:
        for lang in space.langs:
            if lang in table:
                raise InputError(f"language {lang!r} is in two input spaces ({table[lang].path})", space.path)
            table[lang] = space
    return table


def training_pairs(sources: Sequence[str | Path], spaces: dict[str, Space], pivot: str,
                   identical_max: int | None) -> list[IndexPairs]:
    """Index pairs (language row, pivot row) of every dictionary source, oriented towards the pivot."""
    found: list[IndexPairs] = []
    for source in sources:
        if str(source) == IDENTICAL:
            found += [require_usable(identical_pairs(lang, pivot, space.words(lang), spaces[pivot].index(pivot),
                                                     identical_max))
                      for lang, space in spaces.items() if lang != pivot]
            continue
        found.append(require_usable(_oriented(read_dictionary(source), spaces, pivot)))
    return found


def _oriented(dictionary: Dictionary, spaces: dict[str, Space], pivot: str) -> IndexPairs:
    src, tgt = dictionary.src_lang, dictionary.tgt_lang
    if pivot not in (src, tgt) or src == tgt:
        raise InputError(f"a {src}-{tgt} dictionary does not translate to or from the pivot {pivot!r}",
                         dictionary.path)
    for lang in (src, tgt):
        if lang not in spaces:
            raise InputError(f"no input space holds language {lang!r} (have: {', '.join(spaces)})", dictionary.path)
    if src == pivot:
        dictionary = dataclasses.replace(dictionary, src_lang=tgt, tgt_lang=src,
                                         pairs=[(b, a) for a, b in dictionary.pairs])
    return index_pairs(dictionary, spaces[dictionary.src_lang].index(dictionary.src_lang), spaces[pivot].index(pivot))


def evaluation_pairs(paths: Sequence[str | Path], spaces: dict[str, Space]) -> list[IndexPairs]:
    """Index pairs of the evaluation dictionaries (any two languages of the output space)."""
    found = []
    for path in paths:
        dictionary = read_dictionary(path)
        for lang in (dictionary.src_lang, dictionary.tgt_lang):
            if lang not in spaces:
                raise InputError(f"language {lang!r} is not in the aligned space", path)
        src, tgt = spaces[dictionary.src_lang], spaces[dictionary.tgt_lang]
        found.append(require_usable(index_pairs(dictionary, src.index(dictionary.src_lang),
                                                tgt.index(dictionary.tgt_lang))))
    return found


Rows = dict[str, tuple[np.ndarray, np.ndarray]]


def rows_by_language(pairs: list[IndexPairs], order: Sequence[str], pivot: str) -> Rows:
    """Every non-pivot language's training rows and their pivot rows (all its dictionaries, duplicates once)."""
    rows: Rows = {}
    for lang in order:
        mine = [p for p in pairs if p.src_lang == lang]
        if lang != pivot and not mine:
            raise InputError(f"no dictionary for {lang}-{pivot} (give --dict {lang}-{pivot}.FILE or --dict identical)")
        if mine:
            rows[lang] = concat(mine)
    return rows


def map_onto_pivot(matrices: dict[str, np.ndarray], rows: Rows, pivot: str, method: str) -> None:
    """Replace every non-pivot matrix X by its image XW, W fitted on the dictionary rows."""
    fit = METHODS.get(method)
    for lang, (src_rows, pivot_rows) in rows.items():
        W = fit(matrices[lang][src_rows], matrices[pivot][pivot_rows])
        matrices[lang] = (matrices[lang] @ W).astype(np.float32)


def align_spaces(spaces: Sequence[str | Path | Space], out: str | Path, *, pivot: str = "en",
                 dicts: Sequence[str | Path] = (), method: str = "procrustes",
                 normalize_steps: str | Sequence[str] = (), name: str | None = None,
                 eval_dicts: Sequence[str | Path] = (), identical_max: int | None = 15000, csls_k: int = 10,
                 csls_vocab: int | None = None, batch_size: int | None = None, device: str = "auto",
                 force: bool = False, seed: int = 0, progress: Progress | None = None) -> AlignResult:
    """Map every language of ``spaces`` onto ``pivot`` and write one multilingual space at ``out``.

    All inputs are checked before anything is written; evaluation dictionaries are scored on the result.
    """
    METHODS.get(method)
    pick_device(device)
    steps = parse_steps(normalize_steps)
    opened = [s if isinstance(s, Space) else open_space(s) for s in spaces]
    table = languages(opened)
    order = pivot_first(table, pivot, dicts)
    pairs = training_pairs(dicts, table, pivot, identical_max)
    rows = rows_by_language(pairs, order, pivot)
    tests = evaluation_pairs(eval_dicts, table)
    matrices = {lang: normalize(table[lang].lang_vectors(lang), steps) for lang in order}
    map_onto_pivot(matrices, rows, pivot, method)
    sources = [str(d) for d in dicts]
    params: dict[str, Any] = {"pivot": pivot, "normalize": steps, "dicts": sources,
                              "pairs": {lang: len(src_rows) for lang, (src_rows, _) in rows.items()}}
    if IDENTICAL in sources:
        params["identical_max"] = identical_max
    params["seed"] = seed
    inputs = [space_sha256(s) for s in opened] + [file_sha256(d) for d in sources if d != IDENTICAL]
    name = name or (f"{method}-identical" if sources == [IDENTICAL] else method)
    step = make_record("space", TOOL, langs=order, method=method, name=name, params=params, inputs=inputs)
    blocks = [LangBlock(lang, table[lang].words(lang), matrices[lang]) for lang in order]
    sha = write_space(out, blocks, _provenance(opened) + [step], force=force, extra={"name": name, "method": method})
    result = AlignResult(Path(out), sha, order, method, name, params, inputs, pairs)
    for test in tests:
        with (progress or _no_progress)(f"{test.src_lang}-{test.tgt_lang} word translation",
                                        len(matrices[test.tgt_lang][:csls_vocab])) as advance:
            scores = word_translation(matrices[test.src_lang], matrices[test.tgt_lang], test, csls_k=csls_k,
                                      vocab=csls_vocab, batch_size=batch_size, device=device, advance=advance)
        result.evaluations.append(Evaluation(test.source, file_sha256(test.source), test.src_lang,
                                             test.tgt_lang, scores))
    return result


def pivot_first(table: dict[str, Space], pivot: str, dicts: Sequence[str | Path]) -> list[str]:
    """The output's language order (pivot, then the others as given), once the inputs make sense."""
    if pivot not in table:
        raise InputError(f"pivot language {pivot!r} is in no input space (have: {', '.join(table)})")
    if len(table) < 2:
        raise InputError("nothing to align: the input spaces hold only the pivot language")
    if not dicts:
        raise InputError("no dictionary: give --dict FILE (e.g. de-en.0-5000.txt) or --dict identical")
    return [pivot] + [lang for lang in table if lang != pivot]


def _no_progress(description: str, total: int | None) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda n=1: None)


def _provenance(spaces: Sequence[Space]) -> list[dict[str, Any]]:
    """The records that produced the inputs, each once, in order."""
    seen: dict[bytes, dict[str, Any]] = {}
    for space in spaces:
        for record in space.provenance:
            seen.setdefault(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), record)
    return list(seen.values())
