"""cltc-embed train through the command line: records, stdin spaces, exit statuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
from typer.testing import CliRunner

from cltc_tools import __version__
from cltc_tools.cli.embed import app
from cltc_tools.io.records import file_sha256
from cltc_tools.io.space import LangBlock, open_space, write_space

VOCAB = 30


def invoke(*args: str | Path, input: str | bytes | None = None):
    return CliRunner().invoke(app, ["train", *map(str, args)], input=input)


def records(stdout: str) -> list[dict]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def parallel_file(path: Path, lang: str, n: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        concepts = rng.integers(0, VOCAB, rng.integers(4, 9))
        lines.append(orjson.dumps({"src_lang": lang, "src": " ".join(f"{lang}w{c}" for c in concepts),
                                   "tgt_lang": "en", "tgt": " ".join(f"enw{c}" for c in concepts)}))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def init_space(path: Path, lang: str, seed: int) -> Path:
    vectors = np.random.default_rng(seed).standard_normal((VOCAB, 8)).astype(np.float32)
    write_space(path, [LangBlock(lang, [f"{lang}w{c}" for c in range(VOCAB)], vectors)])
    return path


def test_unknown_method_exits_2_listing_the_known_ones(tmp_path):
    result = invoke("--method", "glove", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "unknown training method 'glove' (known: biskip, fasttext, sent-align)" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    missing = invoke("--out", tmp_path / "o")
    assert missing.exit_code == 2 and "known: biskip, fasttext, sent-align" in missing.stderr


def test_fasttext_prints_a_space_record(tmp_path):
    text = tmp_path / "de.txt"
    rng = np.random.default_rng(0)
    text.write_text("\n".join(" ".join(f"Wort{i}" for i in rng.integers(0, 20, 8)) for _ in range(200)) + "\n",
                    encoding="utf-8")
    out = tmp_path / "ft"
    result = invoke("--method", "fasttext", text, "--lang", "de", "--out", out, "--dim", "8", "--min-count", "1",
                    "--bucket", "500", "--threads", "1", "--epoch", "2")
    assert result.exit_code == 0, result.stderr
    [record] = records(result.stdout)
    space = open_space(out)
    assert record["kind"] == "space" and record["schema"] == 1 and record["tool"] == "cltc-embed"
    assert record["version"] == __version__
    assert record["path"] == str(out) and record["sha256"] == space.sha256 and record["langs"] == ["de"]
    assert record["method"] == "fasttext" and record["name"] == "fasttext"
    assert record["inputs"] == [file_sha256(text)]
    params = record["params"]
    assert (params["dim"], params["min_count"], params["bucket"], params["threads"], params["epoch"],
            params["lang"], params["tokenizer"], params["seed"]) == (8, 1, 500, 1, 2, "de", "unicode", 0)
    assert sorted(space.words("de")) == sorted(f"wort{i}" for i in range(20))
    assert space.provenance[-1]["method"] == "fasttext"


def test_biskip_and_options_of_other_methods(tmp_path):
    files = [parallel_file(tmp_path / "de-en.jsonl", "de"), parallel_file(tmp_path / "fr-en.jsonl", "fr", seed=1)]
    out = tmp_path / "bs"
    result = invoke("--method", "biskip", *files, "--out", out, "--dim", "8", "--min-count", "1", "--epoch", "2",
                    "--threads", "1", "--max-pairs", "100", "--name", "multi-skip")
    assert result.exit_code == 0, result.stderr
    [record] = records(result.stdout)
    assert record["langs"] == ["en", "de", "fr"] and record["name"] == "multi-skip"
    assert record["inputs"] == [file_sha256(f) for f in files] and record["params"]["max_pairs"] == 100
    assert open_space(out).langs.keys() == {"en", "de", "fr"}
    again = invoke("--method", "biskip", *files, "--out", out, "--dim", "8")
    assert again.exit_code == 2 and "output exists" in again.stderr
    foreign = invoke("--method", "biskip", *files, "--out", tmp_path / "x", "--mu", "1")
    assert foreign.exit_code == 2 and "--mu does not apply to --method biskip" in foreign.stderr


def test_biskip_with_one_thread_gives_the_same_bytes_for_the_same_seed(tmp_path):
    """What the paper grid relies on (examples/Makefile trains BiSkip with --threads 1)."""
    files = [parallel_file(tmp_path / "de-en.jsonl", "de", n=400)]
    shas = []
    for name in ("a", "b"):
        result = invoke("--method", "biskip", *files, "--out", tmp_path / name, "--dim", "16", "--min-count", "1",
                        "--epoch", "3", "--threads", "1", "--seed", "7")
        assert result.exit_code == 0, result.stderr
        shas.append(records(result.stdout)[0]["sha256"])
    assert shas[0] == shas[1]


def test_sent_align_reads_initial_spaces_from_stdin_records(tmp_path):
    pairs = parallel_file(tmp_path / "de-en.jsonl", "de")
    stream = b""
    for lang, seed in (("en", 1), ("de", 2)):
        path = init_space(tmp_path / f"init-{lang}", lang, seed)
        stream += orjson.dumps({"kind": "space", "schema": 1, "path": str(path), "sha256": open_space(path).sha256,
                                "langs": [lang], "method": "import"}) + b"\n"
    out = tmp_path / "sa"
    result = invoke("--method", "sent-align", "--parallel", pairs, "--out", out, "--epoch", "2",
                    "--tokenizer", "unicode", input=stream)
    assert result.exit_code == 0, result.stderr
    passed, [mine] = records(result.stdout)[:2], records(result.stdout)[2:]
    assert [r["path"] for r in passed] == [str(tmp_path / "init-en"), str(tmp_path / "init-de")]
    assert mine["method"] == "sent-align" and mine["langs"] == ["en", "de"]
    assert mine["inputs"] == [r["sha256"] for r in passed] + [file_sha256(pairs)]
    assert mine["params"]["lr"] == 1.0 and mine["params"]["dim"] == 8
    paper = invoke("--method", "sent-align", pairs, "--out", tmp_path / "p", "--preset", "paper",
                   "--tokenizer", "unicode", input=stream)
    assert paper.exit_code == 2 and "dimension [8] but --dim is 300" in paper.stderr
    none = invoke("--method", "sent-align", pairs, "--out", tmp_path / "n")
    assert none.exit_code == 2 and "--init-space" in none.stderr


def test_bad_parallel_line_exits_2_with_file_and_line(tmp_path):
    path = parallel_file(tmp_path / "de-en.jsonl", "de", n=2)
    with open(path, "ab") as handle:
        handle.write(b"{not json\n")
    result = invoke("--method", "biskip", path, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert f"{path}:3: invalid JSON" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_help_shows_examples():
    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "cltc-embed train --method biskip" in result.stdout and "--threads 1" in result.stdout


def test_moses_file_pairs_are_parallel_input(tmp_path):
    (tmp_path / "corpus.de").write_text("das haus\nein baum\n" * 20, encoding="utf-8")
    (tmp_path / "corpus.en").write_text("the house\na tree\n" * 20, encoding="utf-8")
    result = invoke("--method", "biskip", tmp_path / "corpus.de-en", "--out", tmp_path / "o", "--dim", "4",
                    "--min-count", "1", "--threads", "1", "--epoch", "1")
    assert result.exit_code == 0, result.stderr
    [record] = records(result.stdout)
    assert record["langs"] == ["en", "de"]
    assert record["inputs"] == [file_sha256(tmp_path / "corpus.de"), file_sha256(tmp_path / "corpus.en")]
    assert sorted(open_space(tmp_path / "o").words("de")) == ["baum", "das", "ein", "haus"]


def test_options_of_another_method_are_usage_errors(tmp_path):
    pairs = parallel_file(tmp_path / "de-en.jsonl", "de", n=5)
    for args, message in ((["--method", "biskip", pairs, "--lang", "de"], "--lang does not apply"),
                          (["--method", "fasttext", pairs, "--lang", "de", "--parallel", pairs], "reads text"),
                          (["--method", "biskip", pairs, "--init-space", tmp_path], "--init-space does not apply"),
                          (["--method", "sent-align", pairs, "--save-bin", tmp_path / "x.bin"], "--save-bin")):
        result = invoke(*args, "--out", tmp_path / "o")
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)


def test_fasttext_on_text_without_words_names_the_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    result = invoke("--method", "fasttext", empty, "--lang", "de", "--out", tmp_path / "o")
    assert result.exit_code == 2 and f"no de text in {empty}" in result.stderr, result.stderr
    assert not (tmp_path / "o").exists()
