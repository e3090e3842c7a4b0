"""Containment: names that come from data (language codes, space names) never put a file outside --out.

Every place where a name read from a file becomes part of a path is tried with relative (``x/../../victim``),
``..`` and absolute forms, plus a line break; the command must refuse the input (exit 2, ``file[:line]: problem``)
and leave every file outside its --out as it was. ``test_no_write_outside_out_for_any_name`` generates the names
from arbitrary Unicode.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability._fuzz import CLI_FUZZ
from typer.testing import CliRunner

from cltc_tools.cli.data import app as data_app
from cltc_tools.cli.embed import app as embed_app
from cltc_tools.cli.train import app as train_app

runner = CliRunner()

# {root} is the sandbox, so that an absolute name would land on a file the test watches
HOSTILE = ["x/../../../../victim", "../../victim", "..", "{root}/victim", "en/../../victim", "en\n", "/victim",
           "x/../../../../victim/sub"]


def invoke(app, args, stdin=None):
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every file and folder under ``root`` (outside ``skip``) with a hash of its content."""
    out = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "/"
    return out


def sandbox(tmp: Path) -> tuple[Path, Path]:
    """A folder with victims at several depths and an --out three levels down; returns (root, out)."""
    root = tmp / "root"
    for where in (root, root / "a", root / "a" / "b"):
        where.mkdir(parents=True, exist_ok=True)
        (where / "victim").mkdir(exist_ok=True)
        (where / "victim" / "keep.txt").write_text("precious\n")
        (where / "victim3").write_text("precious\n")
    return root, root / "a" / "b" / "out"


def hostile(name: str, root: Path) -> str:
    return name.replace("{root}", str(root))


def docs_file(path: Path, lang: str, n: int = 12) -> Path:
    with open(path, "wb") as handle:
        for i in range(n):
            handle.write(orjson.dumps({"id": str(i), "lang": lang, "text": f"w{i} w{i + 1}",
                                       "label": "ab"[i % 2]}) + b"\n")
    return path


def refused(result, *mentions: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and result.stdout == ""
    for text in mentions:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("command", ["split", "sample", "tsv"])
def test_document_language_never_becomes_a_path_outside_out(tmp_path, name, command):
    root, out = sandbox(tmp_path)
    lang = hostile(name, root)
    docs = docs_file(tmp_path / "train.jsonl", lang)
    before = snapshot(root)
    if command == "split":
        result = invoke(data_app, ["split", docs, "--out", out])
    elif command == "sample":
        result = invoke(data_app, ["sample", docs, "--out", out, "--max-docs", "3"])
    else:  # the language comes from a column of the table
        table = tmp_path / "t.tsv"
        table.write_text("text\tlabel\tlang\n" + "".join(f"w{i}\tab\t{json.dumps(lang)}\n" for i in range(4)))
        result = invoke(data_app, ["tsv", table, "--lang-col", "lang", "--out", out])
    refused(result, "not a language code")
    assert snapshot(root) == before


def _space_with_lang(seed: Path, dest: Path, lang: str) -> Path:
    """The tiny space with its first language renamed in space.json and words.txt."""
    shutil.copytree(seed, dest)
    meta = json.loads((dest / "space.json").read_text())
    first = next(iter(meta["langs"]))
    meta["langs"] = {(lang if k == first else k): v for k, v in meta["langs"].items()}
    (dest / "space.json").write_text(json.dumps(meta))
    words = (dest / "words.txt").read_text().splitlines()
    (dest / "words.txt").write_text("".join((lang + w[len(first):] if w.startswith(first + "\t") else w) + "\n"
                                            for w in words))
    return dest


@pytest.mark.parametrize("name", HOSTILE)
def test_space_language_never_becomes_a_model_folder_outside_out(tiny_world, tmp_path, name):
    root, out = sandbox(tmp_path)
    lang = hostile(name, root)
    space = _space_with_lang(tiny_world / "space", tmp_path / "space", lang)
    docs = tmp_path / "docs"
    for folder in ("train", "dev"):
        (docs / "xx").mkdir(parents=True, exist_ok=True)
        docs_file(docs / "xx" / f"{folder}.jsonl", "en")
    train = docs_file(tmp_path / "train.jsonl", lang, 20)
    before = snapshot(root)
    result = invoke(train_app, ["--space", space, "--train", train, "--out", out, "--mode", "mono", "--epochs", "1",
                                "-q"])
    refused(result, "not a language code")
    assert snapshot(root) == before


@pytest.mark.parametrize("name", HOSTILE)
def test_parallel_corpus_language_never_reaches_a_space(tmp_path, name):
    root, out = sandbox(tmp_path)
    lang = hostile(name, root)
    corpus = tmp_path / "de-en.jsonl"
    with open(corpus, "wb") as handle:
        for i in range(40):
            handle.write(orjson.dumps({"src_lang": lang, "src": f"haus{i % 5} gross", "tgt_lang": "en",
                                       "tgt": f"house{i % 5} big"}) + b"\n")
    before = snapshot(root)
    result = invoke(embed_app, ["train", "--method", "biskip", corpus, "--out", out, "--dim", "8", "--min-count", "1",
                                "--epoch", "1", "--threads", "1"])
    refused(result, "not a language code", f"{corpus}:1")
    assert snapshot(root) == before


@pytest.mark.parametrize("name", HOSTILE + ["../../../../x", "a/../../x", ".hidden", " padded "])
def test_space_record_name_never_becomes_a_folder_outside_out(tiny_world, tmp_path, name):
    root, out = sandbox(tmp_path)
    records = [{"kind": "space", "schema": 1, "path": str(tiny_world / "space"), "sha256": "", "method": "tiny",
                "name": hostile(name, root)},
               {"kind": "space", "schema": 1, "path": str(tiny_world / "space"), "sha256": "", "method": "tiny",
                "name": "second"}]
    stdin = "".join(json.dumps(r) + "\n" for r in records)
    before = snapshot(root)
    result = invoke(train_app, ["--data", tiny_world / "docs", "--langs", "de", "--out", out, "--epochs", "1", "-q"],
                    stdin=stdin)
    refused(result, "cannot be a file name")
    assert snapshot(root) == before


def _import(tmp_path: Path, out: Path, force: bool = False):
    vec = tmp_path / "v.vec"
    vec.write_text("2 2\na 0.1 0.2\nb 0.3 0.4\n")
    return invoke(embed_app, ["import", f"{vec}:de", "--out", out, *(["--force"] if force else [])])


def test_out_through_a_missing_folder_and_dotdot_does_not_skip_the_overwrite_check(tmp_path):
    """``--out out/new/../keep``: the kernel resolves it to out/keep once out/new exists; the check must too."""
    keep = tmp_path / "out" / "keep"
    assert _import(tmp_path, keep).exit_code == 0
    before = snapshot(tmp_path)
    sneaky = tmp_path / "out" / "new" / ".." / "keep"
    refused(_import(tmp_path, sneaky), "output exists")
    assert snapshot(tmp_path) == before and not (tmp_path / "out" / "new").exists()
    assert _import(tmp_path, sneaky, force=True).exit_code == 0  # --force still replaces it


def test_dataset_through_dotdot_does_not_overwrite_without_force(tmp_path):
    docs = docs_file(tmp_path / "train.jsonl", "en")
    keep = tmp_path / "out" / "keep"
    only_train = ["--dev", "0", "--test", "0"]
    assert invoke(data_app, ["split", docs, "--out", keep, *only_train]).exit_code == 0
    (keep / "en" / "train.jsonl").write_text("edited by hand\n")
    before = snapshot(tmp_path)
    sneaky = tmp_path / "out" / "new" / ".." / "keep"
    refused(invoke(data_app, ["split", docs, "--out", sneaky, *only_train]), "output exists")
    assert snapshot(tmp_path) == before


# ---- the property: arbitrary Unicode names, every command that turns one into a path ---------------------------

PATHISH = st.sampled_from(["..", ".", "/", "\\", "\n", "\r", "\x00", "{root}", "~", " ", "\u2028", "en", "-", "_"])
NAMES = st.one_of(st.text(max_size=12), st.lists(st.one_of(PATHISH, st.text(max_size=4)), max_size=6).map("".join))


def _run_named(kind: str, name: str, tmp: Path, tiny_world: Path, out: Path):
    if kind == "split":
        return invoke(data_app, ["split", docs_file(tmp / "d.jsonl", name), "--out", out])
    if kind == "tsv":
        table = tmp / "t.tsv"
        table.write_text("text\tlabel\tlang\n" + "".join(f"w{i}\tab\t{json.dumps(name)}\n" for i in range(3)))
        return invoke(data_app, ["tsv", table, "--lang-col", "lang", "--out", out])
    records = [{"kind": "space", "schema": 1, "path": str(tiny_world / "space"), "method": "tiny", "name": name},
               {"kind": "space", "schema": 1, "path": str(tiny_world / "space"), "method": "tiny", "name": "z"}]
    return invoke(train_app, ["--data", tiny_world / "docs", "--langs", "de", "--out", out, "--epochs", "1", "-q",
                              "--max-len", "8"], stdin="".join(json.dumps(r) + "\n" for r in records))


@CLI_FUZZ
@given(kind=st.sampled_from(["split", "split", "tsv", "train"]), raw=NAMES)
def test_no_write_outside_out_for_any_name(tiny_world, tmp_path_factory, kind, raw):
    tmp = tmp_path_factory.mktemp("prop")
    root, out = sandbox(tmp)
    name = hostile(raw, root)
    before = snapshot(root, skip=out)
    result = _run_named(kind, name, tmp, tiny_world, out)
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    assert snapshot(root, skip=out) == before  # nothing outside --out changed, nothing new appeared there
    for path in out.rglob("*") if out.exists() else []:
        assert path.resolve().is_relative_to(out.resolve()), path
    shutil.rmtree(tmp, ignore_errors=True)
