"""cltc-train: train classifiers (mono: one per language; multi: one on all languages) in embedding spaces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cltc_tools.cli._common import (
    DEVICE_DEFAULT,
    Debug,
    Device,
    Force,
    Quiet,
    Seed,
    Session,
    cli_errors,
    make_app,
    parse_langs,
    run,
)
from cltc_tools.errors import InputError
from cltc_tools.io.records import require_path
from cltc_tools.text.tokenize import STYLES, Tokenizer
from cltc_tools.training.inputs import (
    MAX_LABELS,
    check_auxiliary_options,
    check_training_plan,
    model_root,
    sentence_pairs,
    space_info,
    training_data,
    training_spaces,
)
from cltc_tools.training.models import ARCHS
from cltc_tools.training.models.registry import EMBEDDING_MODES

TOOL = "cltc-train"
EPILOG = """\b
Example (synthetic demo world):
  cltc-data demo --out demo
  cltc-align --method procrustes --space=demo/spaces/{en,de,fr,it} \\
      --dict=demo/dictionaries/{de,fr,it}-en.train.txt --out runs/space \\
    | cltc-train --arch mlp --mode multi --data demo/docs --out runs/models

Spaces come from --space or from the space records on stdin (one model set per space). With one space, models
are written to OUT/ARCH-MODE-LANGS; with several, to OUT/SPACE-NAME/ARCH-MODE-LANGS.

Interrupted runs: every epoch leaves a snapshot beside the model (.NAME.progress); rerun the same command with
--resume to keep finished models and continue the others where they stopped, with the same final result.

\b
Data-parallel training (gloo on CPU, nccl on GPU; rank 0 writes the models and records):
  torchrun --standalone --nproc_per_node=2 -m cltc_tools.cli.train --arch cnn --mode multi \\
      --space runs/space --data demo/docs --out runs/models-ddp
"""

HELP = "Train text classifiers on documents JSONL in an embedding space."

app = make_app(HELP, epilog=EPILOG)


@app.command(help=HELP, epilog=EPILOG)  # one command: typer shows the command's own texts
@cli_errors(TOOL)
def train(
    arch: Annotated[str, typer.Option(
        "--arch", metavar="NAME", help=f"Architecture: {', '.join(ARCHS.names())}.")] = "mlp",
    mode: Annotated[str, typer.Option(
        "--mode", metavar="mono|multi", help="mono: one model per language; multi: one for all.")] = "multi",
    space: Annotated[Optional[list[Path]], typer.Option(
        "--space", metavar="DIR", help="Space directory (repeatable).")] = None,
    data: Annotated[Optional[Path], typer.Option(
        "--data", metavar="DIR", help="Dataset folder with <lang>/{train,dev}.jsonl.")] = None,
    train_files: Annotated[Optional[list[Path]], typer.Option(
        "--train", metavar="FILE", help="Training JSONL (repeatable).")] = None,
    dev_files: Annotated[Optional[list[Path]], typer.Option(
        "--dev", metavar="FILE", help="Development JSONL (repeatable).")] = None,
    langs: Annotated[Optional[str], typer.Option("--langs", help="Train on these languages only, e.g. en,de.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="DIR", help="Folder for the model checkpoints.")] = Path("models"),
    preset: Annotated[Optional[str], typer.Option(
        "--preset", metavar="NAME", help="'paper': the paper's settings.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--epochs", help="Maximum number of epochs.")] = None,
    patience: Annotated[Optional[int], typer.Option("--patience", help="Early-stopping patience.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Batch size.")] = None,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Dropout rate.")] = None,
    max_len: Annotated[Optional[int], typer.Option("--max-len", help="Truncate documents to N tokens.")] = None,
    embeddings: Annotated[Optional[str], typer.Option(
        "--embeddings", metavar="MODE",
        help=f"How training changes the word vectors: {', '.join(EMBEDDING_MODES)} [frozen; cnn, gru-att: mapped; paper: tuned].")] = None,
    fine_tune: Annotated[Optional[bool], typer.Option(
        "--fine-tune/--freeze", help="Short for --embeddings tuned / --embeddings frozen.")] = None,
    emb_lr: Annotated[Optional[float], typer.Option(
        "--emb-lr", help="Learning rate of the word vectors (tuned, regularized, mapped) [the classifier's].")] = None,
    emb_reg: Annotated[Optional[float], typer.Option(
        "--emb-reg", help="regularized: weight of the squared distance from the aligned vectors.")] = None,
    tokenizer: Annotated[str, typer.Option(
        "--tokenizer", metavar="NAME", help=f"Tokenizer: {', '.join(STYLES)}.")] = "unicode",
    lowercase: Annotated[bool, typer.Option("--lowercase/--no-lowercase", help="Lower-case text.")] = True,
    dev_fraction: Annotated[float, typer.Option("--dev-fraction", help="Held-out share when no dev data.")] = 0.1,
    device: Device = DEVICE_DEFAULT,
    threads: Annotated[Optional[int], typer.Option(
        "--threads", help="CPU threads for torch [OMP_NUM_THREADS if set, else min(cores, 4)].")] = None,
    parallel: Annotated[Optional[list[Path]], typer.Option(
        "--parallel", metavar="FILE",
        help="Parallel sentences JSONL (repeatable) for the +sent-ali architectures.")] = None,
    ali_loss: Annotated[Optional[str], typer.Option(
        "--ali-loss", metavar="NAME",
        help="+sent-ali alignment loss: cosine (eq. 6) or contrastive (with in-batch negatives).")] = None,
    ali_lr: Annotated[Optional[float], typer.Option(
        "--ali-lr", help="+sent-ali: learning rate of the alignment task's optimiser [1e-3; paper: 1e-2].")] = None,
    max_pairs: Annotated[Optional[int], typer.Option("--max-pairs", help="Read at most N pairs per file.")] = None,
    max_train_docs: Annotated[Optional[int], typer.Option(
        "--max-train-docs", help="Low-data regime: at most N training documents (stratified by label).")] = None,
    export_space: Annotated[Optional[Path], typer.Option(
        "--export-space", metavar="DIR",
        help="Also write each model's tuned embeddings as a space under this folder.")] = None,
    max_labels: Annotated[int, typer.Option("--max-labels", min=2, help="Refuse training data with more distinct "
                                            "labels (ids or free text as labels).")] = MAX_LABELS,
    verify: Annotated[bool, typer.Option("--verify", help="Recompute each space's content hash and compare it with "
                                         "space.json and the space record (default: sha256 field and size).")]
    = False,
    resume: Annotated[bool, typer.Option("--resume", help="Keep finished models (a model of another space "
                                         "is trained again); continue interrupted runs from their last epoch "
                                         "snapshot.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every epoch on stderr.")] = False,
    seed: Seed = 0,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from cltc_tools.training.checkpoint import export_tuned_space  # torch: imported here, so --help stays fast
    from cltc_tools.training.distributed import context_from_env, shutdown
    from cltc_tools.training.loop import TrainSettings, groups_for_mode, train_models

    ctx = context_from_env()
    spec = ARCHS.get(arch)
    from_flags = bool(space) and (not spec.auxiliary or bool(parallel))  # then stdin is not read (cltc-records(5))
    session = Session(TOOL, quiet or not ctx.is_main, read_stdin=ctx.is_main and not from_flags, emit=ctx.is_main)
    if ctx.active and not space:
        raise InputError("under torchrun give the space with --space (stdin records reach rank 0 only)")
    check_auxiliary_options(spec, {"parallel": parallel, "ali_loss": ali_loss, "ali_lr": ali_lr,
                                   "max_pairs": max_pairs})
    if threads:
        import torch

        torch.set_num_threads(threads)
    hparams = spec.hparams(preset, {"max_epochs": max_epochs, "patience": patience, "lr": lr,
                                    "batch_size": batch_size, "dropout": dropout, "max_len": max_len,
                                    "embeddings": embeddings_mode(embeddings, fine_tune), "emb_lr": emb_lr,
                                    "emb_reg": emb_reg, "ali_loss": ali_loss, "ali_lr": ali_lr})
    data_ = training_data(data, train_files or [], dev_files or [], parse_langs(langs), dev_fraction,
                          max_train_docs, seed)
    for warning in data_.warnings:
        session.warn(warning)
    pair_files = list(parallel or []) or [require_path(r) for r in session.of_kind("corpus")]
    pairs = sentence_pairs(pair_files, max_pairs) if spec.auxiliary else []
    settings = TrainSettings(arch, mode, hparams, seed, Tokenizer(tokenizer, lowercase), device, resume, ctx, pairs)
    checks: list[str] = []
    spaces = training_spaces(list(space or []), session.of_kind("space"), len(session.records), verify, force, checks)
    for warning in checks:
        session.warn(warning)
    check_training_plan(data_, groups_for_mode(mode, data_.train), spaces, max_labels)
    hook = (lambda e: session.log(f"  epoch {e['epoch']:3d}  loss {e['loss']:.4f}  dev macro-F1 "
                                  f"{e['dev_macro_f1']:.4f}  best {e['best']:.4f}")) if verbose else None
    infos = [space_info(sp, record) for sp, record in spaces]
    roots = [model_root(out, info, len(spaces) > 1) for info in infos]  # every name checked before any training
    for (sp, _), info, root in zip(spaces, infos, roots):
        session.log(f"{TOOL}: {arch} {mode} on space {info['name']} ({sp.path})")
        for model in train_models(sp, info, data_.train, data_.dev, settings, root, force, hook):
            c = model.config
            kept = " (finished earlier, kept)" if model.reused else ""
            session.log(f"{TOOL}: {model.path}: best dev macro-F1 {c['dev_macro_f1']:.4f} at epoch "
                        f"{c['best_epoch']}/{c['epochs']}{kept}")
            session.record("model", path=str(model.path), sha256=model.sha256, arch=arch, mode=mode,
                           train_langs=model.train_langs, space=info["path"], space_method=info["name"],
                           seed=seed, dev_macro_f1=round(c["dev_macro_f1"], 6), best_epoch=c["best_epoch"],
                           epochs=c["epochs"], params=hparams, inputs=[info["sha256"]])
            if export_space and ctx.is_main:
                session.record("space", **export_tuned_space(model.path, export_space / model.path.name, arch,
                                                             TOOL, force))
    shutdown(ctx)


def embeddings_mode(mode: str | None, fine_tune: bool | None) -> str | None:
    """--embeddings MODE, or its short forms --fine-tune and --freeze (not both)."""
    if mode is not None and fine_tune is not None:
        raise InputError(f"give --embeddings {mode} or {'--fine-tune' if fine_tune else '--freeze'}, not both")
    if mode is not None and mode not in EMBEDDING_MODES:
        raise InputError(f"unknown --embeddings {mode!r} (known: {', '.join(EMBEDDING_MODES)})")
    return mode if fine_tune is None else ("tuned" if fine_tune else "frozen")


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
