"""A space remembers how it was made (its *recipe*) and takes new languages the same way.

``space.json`` of an aligned space holds ``recipe``: the pivot language, the pivot's fingerprint (sha256 of its
block as written, :func:`cltc_tools.io.space.block_sha256`), the normalisation steps and the method with every
hyper-parameter the fit used. ``extend_space`` maps new languages into such a space: each is normalised with the
same steps, fitted by the same method against the space's pivot rows as they are (refined the same way when the
recipe refines), and appended; every existing row is copied unchanged. For a method whose fit leaves the pivot
unmoved and maps each language on its own (Procrustes, multiCCA into the pivot's space, MUSE refinement), this is
exactly what aligning the new language from scratch with the pivot gives. Methods that move the pivot
(``--cca-space cca``, Attract-Repel) or fit no map (identity) refuse, naming why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cltc_tools.align.dictionary import IDENTICAL, IndexPairs
from cltc_tools.align.normalize import normalize
from cltc_tools.align.pipeline import (
    TOOL,
    AlignResult,
    Progress,
    evaluate,
    evaluation_pairs,
    languages,
    rows_by_language,
    training_pairs,
)
from cltc_tools.align.problem import Problem, no_progress
from cltc_tools.align.recipe import space_recipe
from cltc_tools.align.refine import refine_fitted
from cltc_tools.align.registry import METHODS
from cltc_tools.align.translation import device_name
from cltc_tools.errors import InputError
from cltc_tools.io.atomic import check_writable
from cltc_tools.io.records import file_sha256, make_record
from cltc_tools.io.space import LangBlock, Space, block_sha256, open_space, space_sha256, write_space


def extensible_recipe(base: Space) -> dict[str, Any]:
    """The base space's recipe once it is known to extend: present, of a method that keeps the pivot, and with a
    pivot block that still has the fingerprint the recipe names."""
    recipe = space_recipe(base)
    if recipe is None:
        raise InputError("this space records no recipe to extend it with (it was not made by cltc-align, or by an "
                         "older version): align every language again with cltc-align", base.path)
    spec = METHODS.get(recipe["method"])
    why = spec.extension_refusal({**recipe["hparams"], "normalize": recipe["normalize"]})
    if why is not None:
        raise InputError(f"a space made by {recipe['method']} cannot take new languages: {why}; align every "
                         "language again with cltc-align", base.path)
    if recipe["pivot"] not in base.langs or block_sha256(base.block(recipe["pivot"])) != recipe["pivot_sha256"]:
        raise InputError(f"the pivot {recipe['pivot']!r} block does not match the fingerprint in space.json",
                         base.path)
    return recipe


def new_languages(base: Space, spaces: Sequence[Space]) -> dict[str, Space]:
    """language -> space of every language to add; a language the base space holds already is an error."""
    table = languages(spaces)
    for lang, space in table.items():
        if lang in base.langs:
            raise InputError(f"language {lang!r} is in the space to extend already ({base.path})", space.path)
    if not table:
        raise InputError("no new language to add")
    return table


@dataclass
class Extension:
    """The new languages fitted: the problem they made, their aligned matrices, the fit, the dictionaries used."""

    problem: Problem
    matrices: dict[str, np.ndarray]
    fit: dict[str, Any]
    dictionaries: list[IndexPairs]


def fit_new_languages(base: Space, table: dict[str, Space], recipe: dict[str, Any], sources: Sequence[str],
                      batch_size: int | None, device: str, progress: Progress) -> Extension:
    """The new languages normalised, fitted against the pivot rows as they are and refined, all by the recipe."""
    pivot, hp = recipe["pivot"], recipe["hparams"]
    known = {pivot: base, **table}
    pairs = training_pairs(sources, known, pivot, hp.get("identical_max", 15000))
    order = [pivot, *table]
    rows = rows_by_language(pairs, order, pivot)
    matrices = {pivot: np.array(base.lang_vectors(pivot), dtype=np.float32)}  # a copy: torch wants it writable
    matrices.update({lang: normalize(s.lang_vectors(lang), recipe["normalize"]) for lang, s in table.items()})
    problem = Problem(pivot, order, matrices, {lang: known[lang].words(lang) for lang in order}, rows,
                      int(hp.get("seed", 0)), device_name(device), progress)
    method, params = METHODS.get(recipe["method"]), {**hp, "normalize": recipe["normalize"]}
    params.setdefault("refine_method", "muse")  # spaces written before --refine-method refined the MUSE way
    fitted = method.fit(problem, params)
    fit: dict[str, Any] = {"method": fitted.fit}
    if hp.get("refine"):
        fitted, fit["refine"] = refine_fitted(problem, method.fit, params, fitted, hp.get("csls_k", 10), batch_size,
                                              judge=IDENTICAL not in map(str, sources))
    aligned = fitted.matrices
    return Extension(problem, aligned, fit, pairs)


def extend_space(base: str | Path | Space, spaces: Sequence[str | Path | Space], out: str | Path, *,
                 dicts: Sequence[str | Path], eval_dicts: Sequence[str | Path] = (), csls_vocab: int | None = None,
                 batch_size: int | None = None, device: str = "auto", force: bool = False,
                 progress: Progress | None = None) -> AlignResult:
    """Map the languages of ``spaces`` into ``base`` with its recipe and write base + them at ``out``: the
    existing rows byte for byte, the new ones after them; the provenance is the base's plus this step."""
    base = base if isinstance(base, Space) else open_space(base)
    recipe = extensible_recipe(base)
    check_writable(Path(out), force)
    table = new_languages(base, [s if isinstance(s, Space) else open_space(s) for s in spaces])
    if not dicts:
        raise InputError("no dictionary: give --dict FILE (e.g. es-en.0-5000.txt) or --dict identical")
    sources = [str(d) for d in dicts]
    tests = evaluation_pairs(eval_dicts, {**{lang: base for lang in base.langs}, **table})
    ext = fit_new_languages(base, table, recipe, sources, batch_size, device, progress or no_progress)
    inputs = ([space_sha256(base)] + [space_sha256(s) for s in dict.fromkeys(table.values())]
              + [file_sha256(d) for d in sources if d != IDENTICAL])
    name, langs = str(base.meta.get("name") or recipe["method"]), [*base.langs, *table]
    params = {"extends": str(base.path), "pivot": recipe["pivot"], "dicts": sources,
              "pairs": {lang: len(src) for lang, (src, _) in ext.problem.rows.items()},
              "normalize": recipe["normalize"], **recipe["hparams"]}
    step = make_record("space", TOOL, langs=langs, method=recipe["method"], name=name, params=params,
                       inputs=inputs, fit=ext.fit)
    blocks = [base.block(lang) for lang in base.langs]
    blocks += [LangBlock(lang, ext.problem.words[lang], ext.matrices[lang]) for lang in table]
    sha = write_space(out, blocks, base.provenance + [step], force=force,
                      extra={"name": name, "method": recipe["method"], "recipe": recipe,
                             "extends": {"path": str(base.path), "sha256": space_sha256(base)}})
    result = AlignResult(Path(out), sha, langs, recipe["method"], name, params, inputs, ext.dictionaries,
                         fit=ext.fit)
    del ext, blocks
    result.evaluations = evaluate(open_space(out), tests, recipe["hparams"].get("csls_k", 10), csls_vocab,
                                  batch_size, device, progress or no_progress)
    return result
