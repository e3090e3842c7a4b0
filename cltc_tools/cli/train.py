"""cltc-train: train classifiers (mono: one per language; multi: one on all languages) in embedding spaces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cltc_tools.cli._common import Debug, Force, Quiet, Seed, Session, cli_errors, make_app, parse_langs, run
from cltc_tools.dataset import load_split, stratified_holdout
from cltc_tools.distributed import context_from_env, shutdown
from cltc_tools.errors import InputError
from cltc_tools.checkpoint import embedding_blocks, load_checkpoint
from cltc_tools.io.parallel import SentencePair, read_parallel
from cltc_tools.io.records import require_path
from cltc_tools.io.space import Space, open_space, write_space
from cltc_tools.models import ARCHS
from cltc_tools.tokenize import STYLES, Tokenizer
from cltc_tools.train import TrainSettings, train_models

TOOL = "cltc-train"
EPILOG = """Example (synthetic demo world):

  cltc-data demo --out demo
  cltc-align --method procrustes --space=demo/spaces/{en,de,fr,it} --dict=demo/dictionaries/{de,fr,it}-en.train.txt --out runs/space \\
    | cltc-train --arch mlp --mode multi --data demo/docs --out runs/models

Spaces come from --space or from the space records on stdin (one model set per space). With one space, models
are written to OUT/ARCH-MODE-LANGS; with several, to OUT/SPACE-NAME/ARCH-MODE-LANGS.

Interrupted runs: every epoch leaves a snapshot beside the model (.NAME.progress); rerun the same command with
--resume to keep finished models and continue the others where they stopped, with the same final result.

Data-parallel training (gloo on CPU, nccl on GPU; rank 0 writes the models and records):

  torchrun --standalone --nproc_per_node=2 -m cltc_tools.cli.train --arch cnn --mode multi \\
      --space runs/space --data demo/docs --out runs/models-ddp
"""

app = make_app("Train text classifiers on documents JSONL in an embedding space.", epilog=EPILOG)


def space_info(space: Space, record: dict[str, Any] | None) -> dict[str, Any]:
    """Path, fingerprint, method and display name of the space a model is trained on."""
    meta = space.meta
    last = (meta.get("provenance") or [{}])[-1] if isinstance(meta.get("provenance"), list) else {}
    source = record or last or {}
    method = source.get("method") or meta.get("method") or space.path.name
    name = source.get("name") or meta.get("name") or method
    return {"path": str(space.path), "sha256": space.sha256, "method": method, "name": name,
            "langs": sorted(space.langs)}


def spaces_to_use(session: Session, spaces: list[Path]) -> list[tuple[Space, dict[str, Any] | None]]:
    if spaces:
        return [(open_space(p), None) for p in spaces]
    records = session.of_kind("space")
    if not records and session.records:
        raise InputError(f"none of the {len(session.records)} records is a space record: give --space DIR", "<stdin>")
    if not records:
        raise InputError("no space given: use --space DIR or pipe space records on stdin")
    return [(open_space(require_path(r)), r) for r in records]


@app.command()
@cli_errors(TOOL)
def train(
    arch: Annotated[str, typer.Option("--arch", help=f"Architecture: {', '.join(ARCHS.names())}.")] = "mlp",
    mode: Annotated[str, typer.Option("--mode", help="mono: one model per language; multi: one for all.")] = "multi",
    space: Annotated[Optional[list[Path]], typer.Option("--space", help="Space directory (repeatable).")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset folder with <lang>/{train,dev}.jsonl.")] = None,
    train_files: Annotated[Optional[list[Path]], typer.Option("--train", help="Training JSONL (repeatable).")] = None,
    dev_files: Annotated[Optional[list[Path]], typer.Option("--dev", help="Development JSONL (repeatable).")] = None,
    langs: Annotated[Optional[str], typer.Option("--langs", help="Train on these languages only, e.g. en,de.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the model checkpoints.")] = Path("models"),
    preset: Annotated[Optional[str], typer.Option("--preset", help="'paper': the paper's settings.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--epochs", help="Maximum number of epochs.")] = None,
    patience: Annotated[Optional[int], typer.Option("--patience", help="Early-stopping patience.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Batch size.")] = None,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Dropout rate.")] = None,
    max_len: Annotated[Optional[int], typer.Option("--max-len", help="Truncate documents to N tokens.")] = None,
    fine_tune: Annotated[Optional[bool], typer.Option("--fine-tune/--freeze", help="Tune the embeddings.")] = None,
    tokenizer: Annotated[str, typer.Option("--tokenizer", help=f"Tokenizer: {', '.join(STYLES)}.")] = "unicode",
    lowercase: Annotated[bool, typer.Option("--lowercase/--no-lowercase", help="Lower-case text.")] = True,
    dev_fraction: Annotated[float, typer.Option("--dev-fraction", help="Held-out share when no dev data.")] = 0.1,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "cpu",
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads for torch.")] = None,
    parallel: Annotated[Optional[list[Path]], typer.Option(
        "--parallel", help="Parallel sentences JSONL (repeatable) for the +sent-ali architectures.")] = None,
    ali_loss: Annotated[Optional[str], typer.Option(
        "--ali-loss", help="+sent-ali alignment loss: cosine (eq. 6) or contrastive (with in-batch negatives).")] = None,
    ali_lr: Annotated[Optional[float], typer.Option(
        "--ali-lr", help="+sent-ali: learning rate of the alignment task's optimiser [1e-3; paper: 1e-2].")] = None,
    max_pairs: Annotated[Optional[int], typer.Option("--max-pairs", help="Read at most N pairs per file.")] = None,
    max_train_docs: Annotated[Optional[int], typer.Option(
        "--max-train-docs", help="Low-data regime: at most N training documents (stratified by label).")] = None,
    export_space: Annotated[Optional[Path], typer.Option(
        "--export-space", help="Also write each model's tuned embeddings as a space under this folder.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep finished models; continue interrupted runs from "
                                         "their last epoch snapshot.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every epoch on stderr.")] = False,
    seed: Seed = 0,
    force: Force = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    ctx = context_from_env()
    session = Session(TOOL, quiet or not ctx.is_main, read_stdin=ctx.is_main, emit=ctx.is_main)
    if ctx.active and not space:
        raise InputError("under torchrun give the space with --space (stdin records reach rank 0 only)")
    if preset not in (None, "paper"):
        raise InputError(f"unknown preset {preset!r} (known: paper)")
    spec = ARCHS.get(arch)
    given = [flag for flag, value in (("--parallel", parallel), ("--ali-loss", ali_loss), ("--ali-lr", ali_lr),
                                      ("--max-pairs", max_pairs)) if value]
    if given and not spec.auxiliary:
        verb = "apply" if len(given) > 1 else "applies"
        raise InputError(f"{', '.join(given)} {verb} to the +sent-ali architectures, not --arch {arch}")
    if threads:
        import torch

        torch.set_num_threads(threads)
    hparams = spec.hparams(preset, {"max_epochs": max_epochs, "patience": patience, "lr": lr,
                                    "batch_size": batch_size, "dropout": dropout, "max_len": max_len,
                                    "fine_tune": fine_tune, "ali_loss": ali_loss, "ali_lr": ali_lr})
    chosen = parse_langs(langs)
    if not data and not train_files:
        raise InputError("no training data: use --data DIR or --train FILE")
    train_docs = load_split(data, train_files or [], "train", chosen)
    dev_docs = load_split(data, dev_files or [], "dev", chosen) if (dev_files or _has_split(data, "dev")) else []
    if not dev_docs:
        train_docs, dev_docs = stratified_holdout(train_docs, dev_fraction, seed)
        session.warn(f"no dev data: holding out {dev_fraction:.0%} of the training documents")
    if max_train_docs is not None:
        train_docs = low_data(train_docs, max_train_docs, seed)
    unseen = sorted({str(d.label) for d in dev_docs} - {str(d.label) for d in train_docs})
    if unseen:
        session.warn("dev labels not in the training data (they count as errors in dev macro-F1): "
                     f"{', '.join(unseen[:10])}{' ...' if len(unseen) > 10 else ''}")
    pairs = load_pairs(session, list(parallel or []), max_pairs) if spec.auxiliary else []
    settings = TrainSettings(arch, mode, hparams, seed, Tokenizer(tokenizer, lowercase), device, resume, ctx, pairs)
    spaces = spaces_to_use(session, list(space or []))
    for sp, record in spaces:
        info = space_info(sp, record)
        root = out / info["name"] if len(spaces) > 1 else out
        hook = (lambda e: session.log(f"  epoch {e['epoch']:3d}  loss {e['loss']:.4f}  dev macro-F1 "
                                      f"{e['dev_macro_f1']:.4f}  best {e['best']:.4f}")) if verbose else None
        session.log(f"{TOOL}: {arch} {mode} on space {info['name']} ({sp.path})")
        for model in train_models(sp, info, train_docs, dev_docs, settings, root, force, hook):
            c = model.config
            kept = " (finished earlier, kept)" if model.reused else ""
            session.log(f"{TOOL}: {model.path}: best dev macro-F1 {c['dev_macro_f1']:.4f} at epoch "
                        f"{c['best_epoch']}/{c['epochs']}{kept}")
            session.record("model", path=str(model.path), sha256=model.sha256, arch=arch, mode=mode,
                           train_langs=model.train_langs, space=info["path"], space_method=info["name"],
                           seed=seed, dev_macro_f1=round(c["dev_macro_f1"], 6), best_epoch=c["best_epoch"],
                           epochs=c["epochs"], params=hparams, inputs=[info["sha256"]])
            if export_space and ctx.is_main:
                export_embeddings(session, model.path, export_space / model.path.name, arch, force)
    shutdown(ctx)


def load_pairs(session: Session, files: list[Path], max_pairs: int | None) -> list[SentencePair]:
    """Parallel sentences from --parallel files, or else from the corpus records on stdin."""
    paths = files or [require_path(r) for r in session.of_kind("corpus")]
    pairs: list[SentencePair] = []
    for path in paths:
        pairs.extend(read_parallel(path, max_pairs))
    return pairs


def low_data(docs: list, limit: int, seed: int) -> list:
    """At most ``limit`` training documents, the same share of every label (the paper's low-data regime)."""
    if limit >= len(docs):
        return docs
    _, kept = stratified_holdout(docs, limit / len(docs), seed)
    return kept


def export_embeddings(session: Session, model_dir: Path, out: Path, arch: str, force: bool) -> None:
    """The model's tuned embedding rows as a space, derived from (so superseding) the space it trained on."""
    ckpt = load_checkpoint(model_dir)
    sha = write_space(out, embedding_blocks(ckpt), provenance=[{"tool": TOOL, "method": "fine-tuned",
                                                                 "model": str(model_dir)}], force=force)
    session.record("space", path=str(out), sha256=sha, langs=sorted({lang for lang, _ in ckpt.vocab}),
                   method="fine-tuned", name=f"{arch}-tuned", params={"model": str(model_dir)},
                   inputs=[ckpt.config["space"].get("sha256", "")])


def _has_split(data: Path | None, split: str) -> bool:
    return bool(data) and any(data.glob(f"*/{split}.jsonl*"))  # type: ignore[union-attr]


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
