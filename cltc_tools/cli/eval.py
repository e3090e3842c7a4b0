"""cltc-eval: macro F1 / precision / recall per test language, for every model given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import orjson
import typer

from cltc_tools.cli._common import (
    DEVICE_DEFAULT,
    Debug,
    Device,
    Force,
    Quiet,
    Session,
    cli_errors,
    make_app,
    parse_langs,
    run,
)
from cltc_tools.datasets.labelled import load_split
from cltc_tools.errors import InputError, NoInputError
from cltc_tools.io.atomic import atomic_file
from cltc_tools.io.documents import document_to_json
from cltc_tools.io.records import file_sha256, require_path
from cltc_tools.io.space import open_space

if TYPE_CHECKING:
    from cltc_tools.training.evaluate import LangResult

TOOL = "cltc-eval"
EPILOG = """\b
Examples (on the runs/ folder of cltc-train's example):
  cltc-train --arch mlp --mode multi --space runs/space --data demo/docs --out runs/models | cltc-eval --data demo/docs
  cltc-eval --model runs/models/mlp-multi-de+en+fr+it --test demo/docs/it/test.jsonl --predictions it.pred.jsonl

Zero-shot: a model trained on English evaluates another language through any space that holds that language in
the same coordinate system:  cltc-eval --model runs/models/mlp-mono-en --space runs/space --langs de --data demo/docs

By default a mono model is evaluated on its training language and a multi model on every language of the test data;
--langs chooses the test languages for all models.
"""

HELP = "Evaluate text classifiers: one metrics record per (model, test language)."

app = make_app(HELP, epilog=EPILOG)


def models_to_eval(session: Session, models: list[Path]) -> list[Path]:
    if models:
        return models
    records = session.of_kind("model")
    if not records and session.records:
        raise InputError(f"none of the {len(session.records)} records is a model record: give --model DIR", "<stdin>")
    if not records:
        raise NoInputError("no model given: use --model DIR or pipe model records on stdin")
    return [require_path(r) for r in records]


def metrics_record(session: Session, model_path: Path, config: dict[str, Any], space_path: Path,
                   result: LangResult) -> dict[str, Any]:
    space = config["space"]
    zero_shot = str(space_path) != space.get("path")
    return session.record(
        "metrics", model=str(model_path), arch=config["arch"], mode=config["mode"],
        train_langs=config["train_langs"], test_lang=result.lang,
        space_method=space.get("name", space.get("method")), space=str(space_path), zero_shot_space=zero_shot,
        seed=config.get("seed"), **result.metrics,
    )


def write_predictions(path: Path, rows: list[dict[str, Any]], force: bool) -> None:
    with atomic_file(path, force=force, mode="wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")


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
    space: Annotated[Optional[Path], typer.Option("--space", metavar="DIR", help="Space to read word vectors from "
                                                  "(default: the model's own).")] = None,
    predictions: Annotated[Optional[Path], typer.Option(
        "--predictions", metavar="FILE", help="Write predictions JSONL.")] = None,
    device: Device = DEVICE_DEFAULT,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from cltc_tools.training.checkpoint import load_checkpoint  # torch: imported here, so --help stays fast
    from cltc_tools.training.evaluate import evaluate

    session = Session(TOOL, quiet)
    if not data and not test:
        raise InputError("no test data: use --data DIR or --test FILE")
    chosen = parse_langs(langs)
    docs = load_split(data, test or [], split, None)
    if not docs:
        raise InputError("no test documents")
    rows: list[dict[str, Any]] = []
    for model_path in models_to_eval(session, list(model or [])):
        ckpt = load_checkpoint(model_path)
        config = ckpt.config
        space_path = space or Path(config["space"]["path"])
        target = chosen or (config["train_langs"] if config["mode"] == "mono" else None)
        subset = [d for d in docs if target is None or d.lang in target]
        if not subset:
            source = test[0] if test and len(test) == 1 else (data if not test else None)
            raise InputError(f"no test documents in language(s) {','.join(target or [])}", source)
        for result in evaluate(ckpt, open_space(space_path), subset, device):
            rec = metrics_record(session, model_path, config, space_path, result)
            session.log(f"{TOOL}: {model_path} on {result.lang}: macro-F1 {rec['macro_f1'] * 100:.2f} "
                        f"P {rec['macro_precision'] * 100:.2f} R {rec['macro_recall'] * 100:.2f} (n={rec['n']})")
            if result.unseen_labels:
                session.warn(f"{result.lang}: labels never seen in training: {', '.join(result.unseen_labels)}")
            rows.extend({**document_to_json(d), "pred": p, "model": str(model_path)}
                        for d, p in zip(result.docs, result.predicted))
    if predictions:
        write_predictions(predictions, rows, force)
        session.record("predictions", path=str(predictions), sha256=file_sha256(predictions), n=len(rows))


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
