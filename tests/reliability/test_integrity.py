"""Integrity: no silent wrong answer, outputs checked before the work, clean failure on full disks and closed stdout.

Each test is the regression test of one case of docs/RELIABILITY.md ("Containment and integrity").
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from cltc_tools.cli.align import app as align_app
from cltc_tools.cli.data import app as data_app
from cltc_tools.cli.embed import app as embed_app
from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.report import app as report_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.errors import InputError
from cltc_tools.io.space import LangBlock, open_space, write_space

runner = CliRunner()
BIN = Path(sys.executable).parent


def invoke(app, args, stdin=None):
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def big_vec(path: Path, words: int = 3000, dim: int = 50) -> Path:
    rng = np.random.default_rng(0)
    rows = "".join(f"w{i} " + " ".join(f"{x:.5f}" for x in rng.normal(size=dim)) + "\n" for i in range(words))
    path.write_text(f"{words} {dim}\n{rows}")
    return path


def hidden_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


# ---- full disk ---------------------------------------------------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs; skipped where the machine does not allow mounting (not root, no CAP_SYS_ADMIN)."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a 1 MiB tmpfs here (needs root or CAP_SYS_ADMIN): "
                    + mounted.stderr.decode(errors="replace").strip()[:120])
    yield where
    subprocess.run(["umount", str(where)], capture_output=True)


@pytest.mark.parametrize("command", ["import", "demo"])
def test_full_disk_is_exit_1_with_a_message_and_no_temporary(small_tmpfs, tmp_path, command):
    out = small_tmpfs / "out"
    source = big_vec(tmp_path / "v.vec", words=8000)  # 1.6 MB of float32: more than the 1 MiB disk
    cmd = ([BIN / "cltc-embed", "import", f"{source}:de", "--out", out] if command == "import"
           else [BIN / "cltc-data", "demo", "--out", out, "-q"])
    result = subprocess.run([str(c) for c in cmd], env=env(), capture_output=True, stdin=subprocess.DEVNULL)
    stderr = result.stderr.decode()
    assert result.returncode == 1, (result.returncode, stderr)  # was -7 (SIGBUS) with nothing on stderr
    assert "no space left on device" in stderr and "Traceback" not in stderr
    assert list(small_tmpfs.iterdir()) == [] and result.stdout == b""


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("command", ["import", "demo"])
def test_file_size_limit_is_exit_1_with_a_message_and_no_temporary(tmp_path, command):
    """The variant that runs everywhere: ``ulimit -f`` makes writes fail like a full disk (EFBIG)."""
    source = big_vec(tmp_path / "v.vec")  # written before the limit applies
    out = tmp_path / "outdir" / "out"
    out.parent.mkdir()
    cmd = ([BIN / "cltc-embed", "import", f"{source}:de", "--out", out] if command == "import"
           else [BIN / "cltc-data", "demo", "--out", out, "-q"])
    result = subprocess.run([str(c) for c in cmd], env=env(), capture_output=True, stdin=subprocess.DEVNULL,
                            preexec_fn=_file_size_limit(200_000))
    stderr = result.stderr.decode()
    assert result.returncode == 1, (result.returncode, stderr)
    assert "file too large" in stderr and "Traceback" not in stderr
    assert list(out.parent.iterdir()) == []


# ---- NaN and Inf -------------------------------------------------------------------------------------------------

def test_nan_in_a_space_is_refused_when_written_and_when_opened(tiny_world, tmp_path):
    vectors = np.ones((3, 4), np.float32)
    vectors[1, 2] = np.nan
    with pytest.raises(InputError, match="vector of en word 2 .'b'. contains NaN or Inf"):
        write_space(tmp_path / "s", [LangBlock("en", ["a", "b", "c"], vectors)])
    assert not (tmp_path / "s").exists()
    space = tmp_path / "space"
    shutil.copytree(tiny_world / "space", space)
    matrix = np.load(space / "vectors.npy")
    matrix[250, 3] = np.inf
    np.save(space / "vectors.npy", matrix)
    result = invoke(train_app, ["--space", space, "--data", tiny_world / "docs", "--out", tmp_path / "m", "-q"])
    assert result.exit_code == 2 and f"{space / 'vectors.npy'}: vector of de word 51 contains NaN" in result.stderr
    assert not (tmp_path / "m").exists()


# ---- .vec rows ---------------------------------------------------------------------------------------------------

def test_vec_row_with_one_value_too_many_is_located_or_skipped_and_counted(tmp_path):
    vec = tmp_path / "v.vec"
    vec.write_text("3 2\na 0.1 0.2\nb 0.1 0.2 0.3\nc 0.5 0.6\n")
    result = invoke(embed_app, ["import", f"{vec}:de", "--out", tmp_path / "s"])
    assert result.exit_code == 2 and f"{vec}:3: expected 2 values, found 3" in result.stderr
    skipped = invoke(embed_app, ["import", f"{vec}:de", "--out", tmp_path / "s", "--skip-bad-rows"])
    assert skipped.exit_code == 0, skipped.stderr
    assert "1 row(s) without 2 values skipped (first at line 3)" in skipped.stderr
    assert open_space(tmp_path / "s").words("de") == ["a", "c"]


# ---- fingerprints ------------------------------------------------------------------------------------------------

@pytest.fixture
def trained(tiny_world, tmp_path):
    """A space copy and a model trained on it, in a folder of its own: (space, model, model record line)."""
    space = tmp_path / "runs" / "space"
    shutil.copytree(tiny_world / "space", space)
    result = invoke(train_app, ["--space", space, "--data", tiny_world / "docs", "--out", tmp_path / "runs" / "m",
                                "--epochs", "1", "-q"])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    return space, Path(record["path"]), result.stdout


def _change_space(space: Path) -> None:
    matrix = np.load(space / "vectors.npy")
    words = [line.split("\t")[1] for line in (space / "words.txt").read_text().splitlines()]
    langs = json.loads((space / "space.json").read_text())["langs"]
    blocks = [LangBlock(lang, words[a:b], matrix[a:b][::-1].copy()) for lang, (a, b) in langs.items()]
    write_space(space, blocks, provenance=[{"method": "tiny", "name": "tiny"}], force=True)


def test_model_evaluated_on_a_changed_space_is_refused_naming_both_fingerprints(trained, tiny_world):
    space, model, _ = trained
    recorded = json.loads((model / "config.json").read_text())["space"]["sha256"]
    _change_space(space)
    now = open_space(space).sha256
    result = invoke(eval_app, ["--model", model, "--data", tiny_world / "docs"])
    assert result.exit_code == 2 and result.stdout == ""
    assert recorded in result.stderr and now in result.stderr and "fingerprint mismatch" in result.stderr
    forced = invoke(eval_app, ["--model", model, "--data", tiny_world / "docs", "--force"])
    assert forced.exit_code == 0 and "warning" in forced.stderr and recorded in forced.stderr


def test_space_json_with_a_wrong_sha256_is_found_by_verify(trained, tiny_world, tmp_path):
    space, _, _ = trained
    meta = json.loads((space / "space.json").read_text())
    meta["sha256"] = "0" * 64
    (space / "space.json").write_text(json.dumps(meta))
    args = ["--space", space, "--data", tiny_world / "docs", "--out", tmp_path / "m2", "--epochs", "1", "-q"]
    result = invoke(train_app, [*args, "--verify"])
    assert result.exit_code == 2 and "space.json says sha256 " + "0" * 64 in result.stderr
    assert not (tmp_path / "m2").exists()


def test_space_record_whose_space_changed_is_refused(tiny_world, tmp_path):
    space = tmp_path / "space"
    shutil.copytree(tiny_world / "space", space)
    record = {"kind": "space", "schema": 1, "path": str(space), "sha256": open_space(space).sha256, "method": "t"}
    _change_space(space)
    result = invoke(train_app, ["--data", tiny_world / "docs", "--out", tmp_path / "m", "-q"],
                    stdin=json.dumps(record) + "\n")
    assert result.exit_code == 2 and record["sha256"] in result.stderr and open_space(space).sha256 in result.stderr


def test_model_record_whose_checkpoint_changed_is_refused(trained, tiny_world):
    _, model, stdout = trained
    config = json.loads((model / "config.json").read_text())
    config["seed"] = 99
    (model / "config.json").write_text(json.dumps(config))
    result = invoke(eval_app, ["--data", tiny_world / "docs"], stdin=stdout)
    assert result.exit_code == 2 and "the model record has sha256" in result.stderr


def test_checkpoint_space_path_is_resolved_against_the_checkpoint_folder(tiny_world, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_world / "space", runs / "space")
    monkeypatch.chdir(runs)  # relative paths, as a user types them
    result = invoke(train_app, ["--space", "space", "--data", tiny_world / "docs", "--out", "m", "--epochs", "1",
                                "-q"])
    assert result.exit_code == 0, result.stderr
    model = runs / json.loads(result.stdout)["path"]
    monkeypatch.chdir(tmp_path)  # elsewhere: "space" is not here, the checkpoint still finds its own
    evaluated = invoke(eval_app, ["--model", model, "--data", tiny_world / "docs"])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert all(r["zero_shot_space"] is False for r in map(json.loads, evaluated.stdout.splitlines()))


# ---- dictionaries ------------------------------------------------------------------------------------------------

def _dict_spaces(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    out = []
    for lang in ("de", "en"):
        write_space(tmp_path / lang, [LangBlock(lang, words, rng.normal(size=(30, 8)).astype(np.float32))])
        out.append(tmp_path / lang)
    return out


def test_dictionary_of_mostly_malformed_lines_is_refused(tmp_path):
    spaces = _dict_spaces(tmp_path)
    dictionary = tmp_path / "de-en.txt"
    dictionary.write_text("w1 w1\n" + "a b c\n" * 1000)
    result = invoke(align_app, ["--space", spaces[0], "--space", spaces[1], "--dict", dictionary,
                                "--out", tmp_path / "out"])
    assert result.exit_code == 2, result.stderr
    assert f"{dictionary}:2: only 1 of 1001 lines are 'source target' pairs" in result.stderr


def test_malformed_dictionary_lines_are_reported_and_languages_can_be_given(tmp_path):
    spaces = _dict_spaces(tmp_path)
    dictionary = tmp_path / "lexicon.txt"  # a name that does not give the languages
    dictionary.write_text("".join(f"w{i} w{i}\n" for i in range(20)) + "a b c\n")
    args = ["--space", spaces[0], "--space", spaces[1], "--out", tmp_path / "out"]
    unnamed = invoke(align_app, [*args, "--dict", dictionary])
    assert unnamed.exit_code == 2 and f"--dict de-en={dictionary}" in unnamed.stderr
    result = invoke(align_app, [*args, "--dict", f"de-en={dictionary}"])
    assert result.exit_code == 0, result.stderr
    assert f"{dictionary}: 1 malformed line(s) skipped" in result.stderr


# ---- outputs checked before the work -----------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["existing", "folder", "read-only"])
def test_eval_checks_its_predictions_file_before_printing_metrics(model, tiny_world, tmp_path, target):
    predictions = tmp_path / "p.jsonl"
    if target == "existing":
        predictions.write_text("keep\n")
    elif target == "folder":
        predictions.mkdir()
    else:
        (tmp_path / "ro").mkdir()
        predictions = tmp_path / "ro" / "p.jsonl"
        os.chmod(tmp_path / "ro", 0o555)
        if os.access(tmp_path / "ro", os.W_OK):  # root writes anywhere: make the folder a file's child instead
            predictions = tmp_path / "file" / "p.jsonl"
            (tmp_path / "file").write_text("a file\n")
    result = invoke(eval_app, ["--model", model, "--data", tiny_world / "docs", "--predictions", predictions])
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""  # no metrics record for a run that failed
    if target == "existing":
        assert predictions.read_text() == "keep\n"


def test_mono_training_checks_every_language_before_the_first(tiny_world, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(tiny_world / "docs", docs)
    lines = [json.loads(x) for x in (docs / "de" / "train.jsonl").read_text().splitlines()]
    (docs / "de" / "train.jsonl").write_text("".join(json.dumps({**x, "label": "alpha"}) + "\n" for x in lines))
    (docs / "de" / "dev.jsonl").unlink()
    result = invoke(train_app, ["--space", tiny_world / "space", "--data", docs, "--mode", "mono",
                                "--out", tmp_path / "m", "--epochs", "1", "-q"])
    assert result.exit_code == 2
    assert f"{docs / 'de' / 'train.jsonl'}: the de training documents have 1 label(s)" in result.stderr
    assert not (tmp_path / "m").exists()  # the en model is not written first


# ---- edge cases --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["import", "report", "demo"])
def test_closed_stdout_is_exit_1_with_a_message(tmp_path, command):
    records = tmp_path / "r.jsonl"
    records.write_text("")
    cmd = {"import": [BIN / "cltc-embed", "import", f"{big_vec(tmp_path / 'v.vec', 5, 4)}:de", "--out",
                      tmp_path / "s"],
           "report": [BIN / "cltc-report", records],
           "demo": [BIN / "cltc-data", "demo", "--out", tmp_path / "s"]}[command]
    result = subprocess.run([str(c) for c in cmd], env=env(), capture_output=False, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "standard output is closed" in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "s").exists()  # refused before the work


def test_mldoc_line_deeper_than_the_parser_is_located(tmp_path):
    source = tmp_path / "english.train"
    source.write_text("CCAT\tb'a'" + " + b'a'" * 200_000 + "\n")
    result = invoke(data_app, ["mldoc", source, "--out", tmp_path / "out"])
    assert result.exit_code == 2 and f"{source}:1: malformed bytes literal" in result.stderr


def test_label_counts_cost_linear_memory():
    """20,000 labels: the confusion matrix alone was 3.2 GB; run under a 1.5 GB address-space limit."""
    code = ("import numpy as np; from cltc_tools.training.metrics import classification_metrics, macro_f1;"
            "g = np.arange(40000) % 20000; p = (g + 1) % 20000;"
            "m = classification_metrics(g, p, [str(i) for i in range(20000)]);"
            "assert 'cells' in m['confusion'] and len(m['confusion']['cells']) == 20000;"
            "assert macro_f1(g, g, 20000) == 1.0; print('ok')")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    result = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, preexec_fn=limit)
    assert result.returncode == 0 and result.stdout.strip() == b"ok", result.stderr.decode()[-500:]


def test_absurd_label_count_is_refused_with_an_override(tiny_world, tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"lang": "en", "text": "enw1 enw2", "label": f"id{i}"}) + "\n"
                             for i in range(60)))
    args = ["--space", tiny_world / "space", "--train", train, "--out", tmp_path / "m", "--epochs", "1", "-q"]
    refused = invoke(train_app, [*args, "--max-labels", "50"])
    assert refused.exit_code == 2 and "60 distinct labels, more than --max-labels 50" in refused.stderr
    assert invoke(train_app, args).exit_code == 0  # under the default limit


def test_bom_only_stdin_is_an_empty_record_stream(tiny_world, tmp_path):
    args = ["--data", tiny_world / "docs", "--out", tmp_path / "m", "--epochs", "1", "-q"]
    empty = invoke(train_app, args, stdin=b"\xef\xbb\xbf")
    assert empty.exit_code == 2 and empty.stderr.startswith("cltc-train: no space given")
    record = json.dumps({"kind": "space", "schema": 1, "path": str(tiny_world / "space"), "method": "t"})
    assert invoke(train_app, args, stdin=b"\xef\xbb\xbf" + record.encode() + b"\n").exit_code == 0


def test_report_json_writes_numbers_as_numbers(model, tiny_world):
    metrics = invoke(eval_app, ["--model", model, "--data", tiny_world / "docs"])
    assert metrics.exit_code == 0
    result = invoke(report_app, ["--table", "spaces", "--format", "json"], stdin=metrics.stdout)
    assert result.exit_code == 0, result.stderr
    table = orjson.loads(result.stdout)
    scores = [v for row in table["rows"] for k, v in row.items() if k.endswith((" F1", " P", " R"))]
    assert scores and all(isinstance(v, float) for v in scores)
    markdown = invoke(report_app, ["--table", "spaces"], stdin=metrics.stdout).stdout
    assert f"{scores[0]:.2f}" in markdown
