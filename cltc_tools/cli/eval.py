"""cltc-eval: macro F1 / precision / recall per test language, for every model given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import orjson
import typer

from cltc_tools.cli._common import DEVICE_DEFAULT, Debug, Device, Quiet, Session, cli_errors, make_app, parse_langs, run
from cltc_tools.datasets.labelled import load_split
from cltc_tools.errors import InputError, NoInputError
from cltc_tools.io.atomic import atomic_file, check_output_file
from cltc_tools.io.documents import document_to_json
from cltc_tools.io.names import resolved
from cltc_tools.io.records import file_sha256, make_record, require_path
from cltc_tools.io.space import Space, check_fingerprint, open_space

if TYPE_CHECKING:  # torch: imported where the work is done, so that --help stays fast
    from cltc_tools.training.checkpoint import Checkpoint
    from cltc_tools.training.evaluate import LangResult
    from cltc_tools.training.new_language import EvalSpace

TOOL = "cltc-eval"
EPILOG = """Examples:

  cltc-train --arch mlp --mode multi --space runs/space --data demo/docs --out runs/models | cltc-eval --data demo/docs
  cltc-eval --model runs/models/mlp-multi-de+en+fr+it --test demo/docs/it/test.jsonl --predictions it.pred.jsonl

Zero-shot: a model trained on English evaluates another language through any space that holds that language in
the same coordinate system:  cltc-eval --model runs/models/mlp-mono-en --space runs/space --langs de --data demo/docs

A language that no space holds yet: give its vectors and a dictionary to the pivot; cltc-eval imports them,
maps the language into the model's space by the space's recipe (as cltc-align --extend), evaluates, and prints
the space, translation-metrics and metrics records of every step:

  cltc-eval --model runs/models/mlp-multi-de+en+fr+it --data demo/heldout --vectors es=demo/heldout/es.vec.gz \\
      --dict demo/dictionaries/es-en.train.txt --eval-dict demo/dictionaries/es-en.test.txt --out runs/es

A --space in other coordinates than the model's (another pivot, pivot rows or normalisation) is refused,
naming both; --force evaluates anyway. A model whose embeddings were fine-tuned warns when it is evaluated on
a language it was not trained on: its untuned rows were never seen by the classifier (train with --freeze to
transfer).

By default a mono model is evaluated on its training language and a multi model on every language of the test data;
--langs chooses the test languages for all models.
"""

HELP = "Evaluate text classifiers: one metrics record per (model, test language)."

app = make_app(HELP, epilog=EPILOG)


def models_to_eval(session: Session, models: list[Path]) -> list[tuple[Path, str | None]]:
    """(checkpoint, the sha256 its record holds or None) of every model to evaluate."""
    if models:
        return [(m, None) for m in models]
    records = session.of_kind("model")
    if not records and session.records:
        raise InputError(f"none of the {len(session.records)} records is a model record: give --model DIR", "<stdin>")
    if not records:
        raise NoInputError("no model given: use --model DIR or pipe model records on stdin")
    return [(require_path(r), r["sha256"] if isinstance(r.get("sha256"), str) else None) for r in records]


def space_for(session: Session, ckpt: Checkpoint, given: Path | None, verify: bool, force: bool) -> tuple[Path, Space]:
    """The space to read vectors from: ``--space``, or the model's own (found from the checkpoint's folder and
    checked against the fingerprint the checkpoint recorded for it)."""
    from cltc_tools.training.checkpoint import model_space_path

    if given is not None:
        space = open_space(given)
        if verify:
            check_fingerprint(space, full=True, force=force)
        return given, space
    path = model_space_path(ckpt.path, ckpt.config)
    space = open_space(path)
    recorded = ckpt.config["space"]
    problem = check_fingerprint(space, recorded.get("sha256") or None, recorded.get("size"), verify, force,
                                what="the checkpoint recorded")
    if problem:
        session.warn(f"{path}: {problem}")
    return path, space


def metrics_record(session: Session, model_path: Path, config: dict[str, Any], space_path: Path,
                   result: LangResult) -> dict[str, Any]:
    from cltc_tools.training.checkpoint import model_space_path

    space = config["space"]
    own = model_space_path(model_path, config)
    zero_shot = str(space_path) != space.get("path") and resolved(space_path) != resolved(own)
    return make_record(
        "metrics", TOOL, model=str(model_path), arch=config["arch"], mode=config["mode"],
        train_langs=config["train_langs"], test_lang=result.lang,
        space_method=space.get("name", space.get("method")), space=str(space_path), zero_shot_space=zero_shot,
        seed=config.get("seed"), **result.metrics,
    )


def write_predictions(path: Path, rows: list[dict[str, Any]], force: bool) -> None:
    with atomic_file(path, force=force, mode="wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")


Vectors = Annotated[Optional[list[str]], typer.Option(
    "--vectors", metavar="LANG=PATH", help="Word vectors of a language the space lacks (.vec, word2vec or fastText "
    ".bin, .gz ok): imported and mapped into the model's space by its recipe (repeatable).")]
Dicts = Annotated[Optional[list[str]], typer.Option(
    "--dict", metavar="FILE|identical", help="With --vectors: dictionary to the space's pivot (e.g. es-en.txt) or "
    "'identical' (repeatable).")]
EvalDicts = Annotated[Optional[list[Path]], typer.Option(
    "--eval-dict", metavar="FILE", help="With --vectors: test dictionary scored on the extended space.")]
SpacesOut = Annotated[Optional[Path], typer.Option(
    "--out", "-o", metavar="DIR", help="With --vectors: folder for the imported (DIR/import) and extended "
    "(DIR/space) spaces.")]


@app.command(help=HELP, epilog=EPILOG)  # one command: typer shows the command's own texts
@cli_errors(TOOL)
def main_command(
    model: Annotated[Optional[list[Path]], typer.Option(
        "--model", "-m", metavar="DIR", help="Model checkpoint (repeatable).")] = None,
    data: Annotated[Optional[Path], typer.Option(
        "--data", metavar="DIR", help="Dataset folder with <lang>/test.jsonl.")] = None,
    test: Annotated[Optional[list[Path]], typer.Option(
        "--test", metavar="FILE", help="Test documents JSONL (repeatable).")] = None,
    split: Annotated[str, typer.Option("--split", metavar="NAME", help="Split of --data to evaluate.")] = "test",
    langs: Annotated[Optional[str], typer.Option("--langs", help="Test languages, e.g. de,it.")] = None,
    space: Annotated[Optional[Path], typer.Option(
        "--space", metavar="DIR", help="Space to read word vectors from, in the model's coordinates (default: the "
        "model's own).")] = None,
    vectors: Vectors = None,
    dicts: Dicts = None,
    eval_dicts: EvalDicts = None,
    out: SpacesOut = None,
    predictions: Annotated[Optional[Path], typer.Option(
        "--predictions", metavar="FILE", help="Write predictions JSONL.")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Recompute the content hash of each space and compare "
                                         "it (default: the sha256 field of space.json and the size).")] = False,
    device: Device = DEVICE_DEFAULT,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs; evaluate in a --space "
                                        "whose coordinates differ from the model's.")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from cltc_tools.training.checkpoint import check_checkpoint_fingerprint, load_checkpoint, model_space_path
    from cltc_tools.training.evaluate import evaluate, untuned_warnings
    from cltc_tools.training.new_language import evaluation_space, parse_vectors

    session = Session(TOOL, quiet, read_stdin=not model)
    if not data and not test:
        raise InputError("no test data: use --data DIR or --test FILE")
    if predictions:
        check_output_file(predictions, force)  # before the work, not after the metrics are printed
    chosen, new_vectors = parse_langs(langs), parse_vectors(vectors or [])
    docs = load_split(data, test or [], split, None)
    if not docs:
        raise InputError("no test documents")
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []  # emitted once every output exists
    prepared: dict[Path, EvalSpace] = {}
    for model_path, expected in models_to_eval(session, list(model or [])):
        ckpt = load_checkpoint(model_path)
        if expected:
            problem = check_checkpoint_fingerprint(model_path, expected, force)
            if problem:
                session.warn(f"{model_path}: {problem}")
        config = ckpt.config
        space_path, space_ = space_for(session, ckpt, space, verify, force)
        if space_path not in prepared:
            prepared[space_path] = evaluation_space(config, space_, new_vectors, dicts or [], eval_dicts or [],
                                                    out, force, device, session.progress,
                                                    trained_path=model_space_path(model_path, config))
            records += step_records(session, prepared[space_path])
        space_ = prepared[space_path].space
        target = chosen or (config["train_langs"] if config["mode"] == "mono" else None)
        subset = [d for d in docs if target is None or d.lang in target]
        if not subset:
            source = test[0] if test and len(test) == 1 else (data if not test else None)
            raise InputError(f"no test documents in language(s) {','.join(target or [])}", source)
        for warning in untuned_warnings(config, sorted({d.lang for d in subset})):
            session.warn(f"{model_path}: {warning}")
        for result in evaluate(ckpt, space_, subset, device):
            rec, doc_rows = report_result(session, model_path, config, space_.path, result)
            records.append(rec)
            rows += doc_rows
    if predictions:
        write_predictions(predictions, rows, force)
        records.append(make_record("predictions", TOOL, path=str(predictions), sha256=file_sha256(predictions),
                                   n=len(rows)))
    for rec in records:
        session.emit(rec)


def step_records(session: Session, prepared: EvalSpace) -> list[dict[str, Any]]:
    """The records of the import and alignment steps (as cltc-embed and cltc-align print them); notes on stderr."""
    for note in prepared.notes:
        session.warn(note)
    records = []
    for tool, kind, fields in prepared.steps:
        records.append(make_record(kind, tool, **fields))
        if kind == "space":
            session.log(f"{TOOL}: {tool} wrote space {fields['path']} ({', '.join(fields['langs'])})")
        else:
            session.log(f"{TOOL}: {fields['src_lang']}-{fields['tgt_lang']} word translation: CSLS P@1 "
                        f"{fields['csls']['p@1']:.2f}, NN P@1 {fields['nn']['p@1']:.2f}")
    return records


def report_result(session: Session, model_path: Path, config: dict[str, Any], space_path: Path,
                  result: LangResult) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The metrics record and line of one test language, and its prediction rows."""
    rec = metrics_record(session, model_path, config, space_path, result)
    session.log(f"{TOOL}: {model_path} on {result.lang}: macro-F1 {rec['macro_f1'] * 100:.2f} "
                f"P {rec['macro_precision'] * 100:.2f} R {rec['macro_recall'] * 100:.2f} (n={rec['n']})")
    if result.unseen_labels:
        session.warn(f"{result.lang}: labels never seen in training: {', '.join(result.unseen_labels)}")
    return rec, [{**document_to_json(d), "pred": p, "model": str(model_path)}
                 for d, p in zip(result.docs, result.predicted)]


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
