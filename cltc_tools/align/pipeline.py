"""Library entry of cltc-align: put every language into the pivot's space, refine, write one space, evaluate.

``align_spaces`` checks every input, normalises the matrices, runs the method (``METHODS``: procrustes, cca,
attract-repel) with its hyper-parameters (defaults < ``--preset paper`` < explicit options), optionally refines
(MUSE-style Procrustes on induced dictionaries), writes the space atomically and scores every evaluation
dictionary on it.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cltc_tools.align.constraints import parse_spec
from cltc_tools.align.dictionary import IDENTICAL, IndexPairs, concat, identical_pairs, index_pairs, require_usable
from cltc_tools.align.normalize import normalize, parse_steps
from cltc_tools.align.problem import Fitted, Problem, Rows, SpilledMatrices, no_progress, stored
from cltc_tools.align.recipe import make_recipe
from cltc_tools.align.refine import REFINE_METHODS, refine_fitted
from cltc_tools.align.registry import METHODS
from cltc_tools.align.translation import (
    SpacePair,
    TranslationScores,
    device_name,
    pick_device,
    translation_scores,
    unit_rows,
)
from cltc_tools.errors import InputError
from cltc_tools.io.atomic import check_writable
from cltc_tools.io.dictionaries import Dictionary, parse_dictionary_spec, read_dictionary_spec
from cltc_tools.io.records import SpaceArtifact, file_sha256, make_record
from cltc_tools.io.space import LangBlock, Space, merged_provenance, open_space, space_sha256, write_space

TOOL = "cltc-align"
TEST_SPLIT = "5000-6500"
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]
CONSTRAINT_KEYS = ("attract", "repel")


@dataclass
class Evaluation:
    """Word-translation scores of one evaluation dictionary on the aligned space."""

    dictionary: str
    sha256: str
    src_lang: str
    tgt_lang: str
    scores: TranslationScores


@dataclass
class AlignResult(SpaceArtifact):
    """An aligned space: the ``space`` record's fields, the dictionaries used, the evaluations and the fit."""

    dictionaries: list[IndexPairs] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    fit: dict[str, Any] = field(default_factory=dict)

    def record_fields(self) -> dict[str, Any]:  # type: ignore[override]
        """The fields of the ``space`` record (SPEC section 2), plus what the fit found (``fit``)."""
        return {**super().record_fields(), "fit": self.fit}


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
        found.append(require_usable(_oriented(read_dictionary_spec(source), spaces, pivot)))
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


def evaluation_files(paths: Sequence[str | Path], langs: Sequence[str]) -> list[Path]:
    """Files as given; a directory stands for its MUSE test files (``de-en.5000-6500.txt``) of every ordered pair
    of ``langs`` that has one."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        found = [path / f"{a}-{b}.{TEST_SPLIT}.txt" for a in langs for b in langs if a != b]
        found = [f for f in found if f.is_file()]
        if not found:
            raise InputError(f"no test dictionary ({{src}}-{{tgt}}.{TEST_SPLIT}.txt) for the languages "
                             f"{', '.join(langs)} in this directory", path)
        files += found
    return files


def evaluation_pairs(paths: Sequence[str | Path], spaces: dict[str, Space]) -> list[IndexPairs]:
    """Index pairs of the evaluation dictionaries (any two languages of the output space)."""
    found = []
    for path in evaluation_files(paths, list(spaces)):
        dictionary = read_dictionary_spec(path)
        for lang in (dictionary.src_lang, dictionary.tgt_lang):
            if lang not in spaces:
                raise InputError(f"language {lang!r} is not in the aligned space", path)
        src, tgt = spaces[dictionary.src_lang], spaces[dictionary.tgt_lang]
        found.append(require_usable(index_pairs(dictionary, src.index(dictionary.src_lang),
                                                tgt.index(dictionary.tgt_lang))))
    return found


def rows_by_language(pairs: list[IndexPairs], order: Sequence[str], pivot: str, required: bool = True) -> Rows:
    """Every non-pivot language's training rows and their pivot rows (all its dictionaries, duplicates once)."""
    rows: Rows = {}
    for lang in order:
        mine = [p for p in pairs if p.src_lang == lang]
        if required and lang != pivot and not mine:
            raise InputError(f"no dictionary for {lang}-{pivot} (give --dict {lang}-{pivot}.FILE or --dict identical)")
        if mine:
            rows[lang] = concat(mine)
    return rows


def method_params(method: str, preset: str | None, options: dict[str, Any] | None,
                  normalize_steps: str | Sequence[str] | None) -> dict[str, Any]:
    """Hyper-parameters of ``method``: defaults < preset < options (and ``normalize_steps`` when given)."""
    overrides = dict(options or {})
    if normalize_steps is not None:
        overrides["normalize"] = parse_steps(normalize_steps)
    params = METHODS.get(method).hparams(preset, overrides)
    params["normalize"] = parse_steps(params["normalize"])
    for key in CONSTRAINT_KEYS:
        specs = [parse_spec(spec) for spec in params.get(key, [])]
        for spec in specs:
            if not spec.path.is_file():
                raise InputError(f"no such constraint file (--{key} FILE or FILE:LANG)", spec.path)
        if key in params:
            params[key] = [str(spec) for spec in specs]
    if params["refine_method"] not in REFINE_METHODS:
        raise InputError(f"unknown --refine-method {params['refine_method']!r} (known: {', '.join(REFINE_METHODS)})")
    for key in ("refine", "refine_vocab"):
        if params[key] < 0:
            raise InputError(f"--{key.replace('_', '-')} must not be negative")
    return params


def constraint_inputs(params: dict[str, Any]) -> list[str]:
    """sha256 of every constraint file (each once)."""
    files = {str(parse_spec(spec).path): None for key in CONSTRAINT_KEYS for spec in params.get(key, [])}
    return [file_sha256(path) for path in files]


def align_spaces(spaces: Sequence[str | Path | Space], out: str | Path, *, pivot: str = "en",
                 dicts: Sequence[str | Path] = (), method: str = "procrustes", preset: str | None = None,
                 options: dict[str, Any] | None = None, normalize_steps: str | Sequence[str] | None = None,
                 name: str | None = None, eval_dicts: Sequence[str | Path] = (), identical_max: int | None = 15000,
                 csls_k: int = 10, csls_vocab: int | None = None, batch_size: int | None = None,
                 device: str = "auto", force: bool = False, seed: int = 0,
                 progress: Progress | None = None) -> AlignResult:
    """Put every language of ``spaces`` into ``pivot``'s space with ``method`` and write one space at ``out``.

    ``options`` are the method's hyper-parameters by name (``sv_threshold``, ``cca_ridge``, ``attract``, ...,
    ``refine``, ``refine_vocab``); ``normalize_steps`` overrides the preset's normalisation. All inputs are
    checked before anything is written; evaluation dictionaries are scored on the result.
    """
    spec = METHODS.get(method)
    params = method_params(method, preset, options, normalize_steps)
    device = device_name(device)
    check_writable(Path(out), force)  # before the fit, which may take minutes
    opened = [s if isinstance(s, Space) else open_space(s) for s in spaces]
    table = languages(opened)
    order = pivot_first(table, pivot, dicts, spec.needs_dict)
    pairs = training_pairs(dicts, table, pivot, identical_max)
    rows = rows_by_language(pairs, order, pivot, spec.needs_dict)
    tests = evaluation_pairs(eval_dicts, table)
    sources = [str(d) for d in dicts]
    inputs = ([space_sha256(s) for s in opened]
              + [file_sha256(parse_dictionary_spec(d)[0]) for d in sources if d != IDENTICAL]
              + constraint_inputs(params))
    with tempfile.TemporaryDirectory(prefix="cltc-align-") as spill:  # the fits' matrices, one file per language
        problem = Problem(pivot, order, normalized(table, order, params["normalize"], Path(spill)),
                          {lang: table[lang].words(lang) for lang in order}, rows, seed,
                          device, progress or no_progress, spill=Path(spill))
        fitted, fit = fit_problem(problem, method, params, csls_k, batch_size, judge=IDENTICAL not in sources)
        record_params: dict[str, Any] = {"pivot": pivot, "preset": preset, "dicts": sources,
                                         "pairs": {lang: len(src_rows) for lang, (src_rows, _) in rows.items()},
                                         **({"identical_max": identical_max} if IDENTICAL in sources else {}),
                                         **params, "seed": seed}
        name = name or default_name(method, sources, params["refine"], opened)
        step = make_record("space", TOOL, langs=order, method=method, name=name, params=record_params,
                           inputs=inputs, fit=fit)
        blocks = [LangBlock(lang, problem.words[lang], stored(fitted.matrices, lang)) for lang in order]
        recipe = make_recipe(blocks[0], method, params,
                             {"identical_max": identical_max, "csls_k": csls_k, "seed": seed})
        sha = write_space(out, blocks, merged_provenance(opened) + [step], force=force,
                          extra={"name": name, "method": method, "recipe": recipe})
        del problem, fitted, blocks
    result = AlignResult(Path(out), sha, order, method, name, record_params, inputs, pairs, fit=fit)
    del opened, table  # the space as written is evaluated, from its file
    result.evaluations = evaluate(open_space(out), tests, csls_k, csls_vocab, batch_size, device,
                                  progress or no_progress)
    return result


def fit_problem(problem: Problem, method: str, params: dict[str, Any], csls_k: int, batch_size: int | None,
                judge: bool) -> tuple[Fitted, dict[str, Any]]:
    """The method's fit, then ``params["refine"]`` rounds of refinement; and what each found."""
    spec = METHODS.get(method)
    fitted = spec.fit(problem, params)
    fit = {"method": fitted.fit}
    if params["refine"]:
        fitted, fit["refine"] = refine_fitted(problem, spec.fit, params, fitted, csls_k, batch_size, judge=judge)
    return fitted, fit


def normalized(table: dict[str, Space], order: Sequence[str], steps: Sequence[str], spill: Path) -> SpilledMatrices:
    """Every language's matrix, normalised, in ``spill``: read and normalised one language at a time."""
    matrices = SpilledMatrices(spill)
    for lang in order:
        matrices[lang] = normalize(table[lang].read_lang(lang), steps)
    return matrices


def default_name(method: str, sources: Sequence[str], rounds: int, spaces: Sequence[Space] = ()) -> str:
    """The method (identity: the input space's name), ``-identical`` when that is the only dictionary,
    ``-refine`` when refined."""
    kept = [str(s.meta.get("name", "")) for s in spaces]
    if method == "identity" and len(kept) == 1 and kept[0]:
        name = kept[0]
    else:
        name = f"{method}-identical" if sources == [IDENTICAL] else method
    return f"{name}-refine" if rounds else name


def evaluate(space: Space, tests: Sequence[IndexPairs], csls_k: int, csls_vocab: int | None,
             batch_size: int | None, device: str, progress: Progress) -> list[Evaluation]:
    """Word-translation P@k of every test dictionary on ``space``: a language is read when a test first needs it
    and dropped after the last one (two languages in memory for the usual tests onto a pivot), and the CSLS
    penalty of a language pair is computed once for all its dictionaries."""
    dev = pick_device(device)
    units: dict[str, Any] = {}
    pairs: dict[tuple[str, str], SpacePair] = {}
    found = []
    for i, test in enumerate(tests):
        for lang in (test.src_lang, test.tgt_lang):
            if lang not in units:
                units[lang] = unit_rows(first_rows(space, lang, csls_vocab), dev, in_place=True)
        key = (test.src_lang, test.tgt_lang)
        if key not in pairs:
            pairs[key] = SpacePair.of_units(units[test.src_lang], units[test.tgt_lang], csls_k)
        with progress(f"{test.src_lang}-{test.tgt_lang} word translation", len(units[test.tgt_lang])) as advance:
            scores = translation_scores(pairs[key], test, batch_size=batch_size, advance=advance)
        found.append(Evaluation(test.source, file_sha256(test.source), test.src_lang, test.tgt_lang, scores))
        later = {lang for t in tests[i + 1:] for lang in (t.src_lang, t.tgt_lang)}
        pairs = {k: v for k, v in pairs.items() if later.issuperset(k)}
        units = {lang: rows for lang, rows in units.items() if lang in later}
    return found


def first_rows(space: Space, lang: str, vocab: int | None) -> np.ndarray:
    """The first ``vocab`` rows of a language (all: None), a float32 array of its own."""
    rows = space.read_lang(lang)
    return rows if vocab is None or vocab >= len(rows) else rows[:vocab].copy()


def pivot_first(table: dict[str, Space], pivot: str, dicts: Sequence[str | Path], needs_dict: bool = True) -> list[str]:
    """The output's language order (pivot, then the others as given), once the inputs make sense."""
    if pivot not in table:
        raise InputError(f"pivot language {pivot!r} is in no input space (have: {', '.join(table)})")
    if len(table) < 2:
        raise InputError("nothing to align: the input spaces hold only the pivot language")
    if needs_dict and not dicts:
        raise InputError("no dictionary: give --dict FILE (e.g. de-en.0-5000.txt) or --dict identical")
    return [pivot] + [lang for lang in table if lang != pivot]
