"""The space a model is evaluated in: its own, a given one in the same coordinate system, or its own extended to
languages it never saw (imported from vector files and mapped in by the space's recipe, ``align/extend.py``).

Every step that writes something is returned as a record (kind and fields) for the command line to print: the
imported space, the extended space and the word-translation scores of any evaluation dictionary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cltc_tools.align.extend import extend_space
from cltc_tools.align.pipeline import TOOL as ALIGN_TOOL
from cltc_tools.align.pipeline import AlignResult, Progress
from cltc_tools.align.recipe import coordinates, describe, same_coordinates, space_recipe
from cltc_tools.embeddings.vector_files import TOOL as EMBED_TOOL
from cltc_tools.embeddings.vector_files import Source, check_lang, import_vectors
from cltc_tools.errors import InputError
from cltc_tools.io.space import Space, open_space


@dataclass
class EvalSpace:
    """The space to evaluate in and the records of the steps that made it (``(tool, kind, fields)``)."""

    space: Space
    steps: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_vectors(values: Sequence[str]) -> dict[str, Path]:
    """``es=PATH`` (repeatable) -> {"es": PATH}."""
    found: dict[str, Path] = {}
    for value in values:
        lang, sep, path = value.partition("=")
        if not sep or not path:
            raise InputError(f"--vectors {value!r}: expected LANG=PATH, e.g. es=cc.es.300.vec.gz")
        if check_lang(lang) in found:
            raise InputError(f"--vectors gives language {lang!r} twice")
        found[lang] = Path(path)
    return found


def model_space(config: dict[str, Any], path: Path | None = None) -> Space | None:
    """The space the model was trained in (at ``path``, default the checkpoint's record of it), or None when it is
    no longer there."""
    path = path if path is not None else Path(str(config["space"].get("path", "")))
    return open_space(path) if (path / "space.json").is_file() else None


def check_coordinates(trained: Space | None, given: Space, force: bool) -> str | None:
    """A given space must be in the coordinates the model was trained in (same pivot, pivot rows and
    normalisation); a mismatch is an error naming both sides unless ``force``, which turns it into a note."""
    if trained is None or trained.path.resolve() == given.path.resolve():
        return None
    mine, theirs = space_recipe(trained), space_recipe(given)
    pivot = str((theirs or mine or {}).get("pivot", ""))
    mine, theirs = coordinates(trained, pivot), coordinates(given, pivot)
    if same_coordinates(mine, theirs):
        return None
    message = (f"the space {given.path} is not in the coordinates the model was trained in: model's space "
               f"{trained.path}: {describe(mine)}; given space: {describe(theirs)}")
    if not force:
        raise InputError(message + " (--force evaluates anyway)")
    return message + " (evaluated anyway: --force)"


def extended_space(space: Space, vectors: dict[str, Path], dicts: Sequence[str], eval_dicts: Sequence[Path],
                   out: Path | None, force: bool, device: str, progress: Progress | None) -> EvalSpace:
    """``space`` with the languages of ``vectors`` it lacks imported (``out/import``) and mapped in by its recipe
    (``out/space``); languages it holds already are not aligned again."""
    missing = {lang: path for lang, path in vectors.items() if lang not in space.langs}
    result = EvalSpace(space, notes=[f"{lang} is in {space.path} already: --vectors {lang}=... not aligned"
                                     for lang in vectors if lang not in missing])
    if not missing:
        return result
    if out is None:
        raise InputError(f"--vectors {','.join(missing)}=...: give --out DIR for the imported and extended spaces")
    if not dicts:
        raise InputError(f"no dictionary to align {', '.join(missing)}: give --dict {next(iter(missing))}-"
                         f"{(space_recipe(space) or {}).get('pivot', 'en')}.txt or --dict identical")
    imported = import_vectors([Source(path, lang) for lang, path in missing.items()], out / "import", force=force)
    result.steps.append((EMBED_TOOL, "space", imported.record_fields()))
    extended = extend_space(space, [imported.path], out / "space", dicts=dicts, eval_dicts=eval_dicts,
                            device=device, force=force, progress=progress)
    result.steps += alignment_steps(extended)
    result.space = open_space(extended.path)
    return result


def alignment_steps(result: AlignResult) -> list[tuple[str, str, dict[str, Any]]]:
    """The records cltc-align prints for an aligned space: the space, then one per evaluated dictionary."""
    steps: list[tuple[str, str, dict[str, Any]]] = [(ALIGN_TOOL, "space", dict(result.record_fields()))]
    for ev in result.evaluations:
        steps.append((ALIGN_TOOL, "translation-metrics", {
            "space": str(result.path), "name": result.name, "method": result.method, "src_lang": ev.src_lang,
            "tgt_lang": ev.tgt_lang, "dictionary": ev.dictionary, **ev.scores.fields(),
            "inputs": [result.sha256, ev.sha256]}))
    return steps


def evaluation_space(config: dict[str, Any], given: Path | Space | None, vectors: dict[str, Path],
                     dicts: Sequence[str], eval_dicts: Sequence[Path], out: Path | None, force: bool = False,
                     device: str = "auto", progress: Progress | None = None,
                     trained_path: Path | None = None) -> EvalSpace:
    """The space a model with checkpoint ``config`` is evaluated in: ``given`` (checked against the model's own
    coordinates, found at ``trained_path`` or where the checkpoint says) or the model's own, extended to the
    languages of ``vectors`` it lacks."""
    trained = model_space(config, trained_path)
    space = (given if isinstance(given, Space) else open_space(given)) if given is not None else trained
    if space is None:
        raise InputError(f"the model's space {config['space'].get('path')} is gone: give --space DIR")
    note = check_coordinates(trained, space, force) if given is not None else None
    result = extended_space(space, vectors, dicts, eval_dicts, out, force, device, progress)
    result.notes += [note] if note else []
    return result
