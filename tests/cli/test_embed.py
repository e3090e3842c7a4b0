"""cltc-embed import/export through the command line: records, exit statuses, pipes."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from cltc_tools import __version__
from cltc_tools.cli.embed import app
from cltc_tools.io.records import file_sha256
from cltc_tools.io.space import open_space
from cltc_tools.io.vectors import read_vectors

WORDS = ["haus", "ein haus", "\u3000", "straße", "日本語"]


def invoke(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def records(stdout: str) -> list[dict]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def make_vec(path: Path, words=WORDS, dim: int = 4, seed: int = 0) -> tuple[Path, np.ndarray]:
    vectors = np.random.default_rng(seed).standard_normal((len(words), dim)).astype(np.float32)
    lines = [f"{len(words)} {dim}"] + [w + " " + " ".join(f"{x:.9g}" for x in row) for w, row in zip(words, vectors)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, vectors


def test_import_prints_a_space_record(tmp_path):
    src, vectors = make_vec(tmp_path / "de.vec")
    out = tmp_path / "spaces" / "de"
    result = invoke("import", src, "--lang", "de", "--out", out)
    assert result.exit_code == 0, result.stderr
    [record] = records(result.stdout)
    space = open_space(out)
    assert record == {"kind": "space", "schema": 1, "path": str(out), "sha256": space.sha256, "langs": ["de"],
                      "method": "import", "params": {"format": "vec", "max_vocab": None, "source": str(src)},
                      "inputs": [file_sha256(src)], "tool": "cltc-embed", "version": __version__}
    assert space.words("de") == WORDS
    assert np.array_equal(space.lang_vectors("de"), vectors)
    [prov] = space.provenance
    assert prov["source"] == str(src) and prov["source_sha256"] == file_sha256(src) and prov["method"] == "import"
    assert "de: 5 words, dim 4" in result.stderr


def test_import_export_round_trip(tmp_path):
    src, vectors = make_vec(tmp_path / "de.vec")
    assert invoke("import", src, "--lang", "de", "--out", tmp_path / "sp").exit_code == 0
    for name in ("back.vec", "back.vec.gz"):
        result = invoke("export", tmp_path / "sp", "--out", tmp_path / name)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""  # a vector file is not a record kind
        back = read_vectors(tmp_path / name)
        assert back.words == WORDS
        assert np.array_equal(back.vectors, vectors)
    assert gzip.decompress((tmp_path / "back.vec.gz").read_bytes()) == (tmp_path / "back.vec").read_bytes()
    # word2vec binary cannot hold a token with a space: a clear error, then a round trip without it
    result = invoke("export", tmp_path / "sp", "--out", tmp_path / "w.bin")
    assert result.exit_code == 2 and "'ein haus'" in result.stderr and not (tmp_path / "w.bin").exists()
    words = [w.replace(" ", "_") for w in WORDS]
    src2, vectors2 = make_vec(tmp_path / "nospace.vec", words)
    assert invoke("import", src2, "-l", "de", "-o", tmp_path / "sp2").exit_code == 0
    for name, fmt in (("w.bin", []), ("w.data", ["--format", "word2vec"]), ("w.bin.gz", [])):
        assert invoke("export", tmp_path / "sp2", "--out", tmp_path / name, *fmt).exit_code == 0
        back = read_vectors(tmp_path / name)
        assert back.words == words
        assert np.array_equal(back.vectors, vectors2)
    assert (tmp_path / "w.bin").read_bytes() == (tmp_path / "w.data").read_bytes()


def test_import_options_max_vocab_duplicates_format(tmp_path):
    src, _ = make_vec(tmp_path / "d.vec", ["a", "b", "a", "c", "d"])
    packed = tmp_path / "d.vec.gz"
    packed.write_bytes(gzip.compress(src.read_bytes()))
    result = invoke("import", packed, "--lang", "en", "--max-vocab", "3", "--format", "vec", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    assert open_space(tmp_path / "s").words("en") == ["a", "b", "c"]
    assert records(result.stdout)[0]["params"] == {"format": "vec", "max_vocab": 3, "source": str(packed)}
    assert "1 duplicate(s) skipped" in result.stderr
    assert invoke("import", src, "-l", "en", "--max-vocab", "0", "-o", tmp_path / "z").exit_code == 2
    assert invoke("import", src, "-l", "en", "--format", "glove", "-o", tmp_path / "z").exit_code == 2


def test_import_several_languages(tmp_path):
    de, de_vectors = make_vec(tmp_path / "de.vec", seed=1)
    en, en_vectors = make_vec(tmp_path / "en.vec", ["house", "cat"], seed=2)
    result = invoke("import", f"{de}:de", f"{en}:en", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    [record] = records(result.stdout)
    assert record["langs"] == ["de", "en"]
    assert record["inputs"] == [file_sha256(de), file_sha256(en)]
    assert record["params"]["source"] == [str(de), str(en)]
    space = open_space(tmp_path / "s")
    assert np.array_equal(space.lang_vectors("en"), en_vectors)
    again = invoke("import", de, en, "--lang", "de,en", "--out", tmp_path / "s2")
    assert again.exit_code == 0 and records(again.stdout)[0]["sha256"] == record["sha256"]
    # one language only: --lang is required to export
    result = invoke("export", tmp_path / "s", "--out", tmp_path / "x.vec")
    assert result.exit_code == 2 and "--lang" in result.stderr
    assert invoke("export", tmp_path / "s", "--lang", "en", "--out", tmp_path / "en-out.vec").exit_code == 0
    assert read_vectors(tmp_path / "en-out.vec").words == ["house", "cat"]


@pytest.mark.parametrize("args", [
    ["{de}"],                       # no language
    ["{de}", "--lang", "de,en"],    # too many languages
    ["{de}:de", "{de}:de"],         # a language twice
    ["{de}", "--lang", "not a lang"],
])
def test_import_language_usage_errors(tmp_path, args):
    de, _ = make_vec(tmp_path / "de.vec")
    result = invoke("import", *[a.format(de=de) for a in args], "--out", tmp_path / "s")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "s").exists()


def test_malformed_line_exits_2_with_location_and_no_output(tmp_path):
    src = tmp_path / "bad.vec"
    src.write_text("3 2\na 1 2\nb 1\nc 3 4\n")
    out = tmp_path / "space"
    result = invoke("import", src, "--lang", "de", "--out", out)
    assert result.exit_code == 2
    assert f"{src}:3: " in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.vec"]  # no space, no temporary folder


def test_debug_shows_the_traceback(tmp_path):
    src = tmp_path / "bad.vec"
    src.write_text("1 2\na 1 nan\n")
    result = invoke("import", src, "--lang", "de", "--out", tmp_path / "s", "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and f"{src}:2: " in result.stderr


def test_existing_output_needs_force(tmp_path):
    src, _ = make_vec(tmp_path / "de.vec")
    out = tmp_path / "s"
    assert invoke("import", src, "-l", "de", "-o", out).exit_code == 0
    result = invoke("import", src, "-l", "de", "-o", out)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert invoke("import", src, "-l", "de", "-o", out, "--force").exit_code == 0
    assert invoke("export", out, "-o", tmp_path / "o.vec").exit_code == 0
    assert invoke("export", out, "-o", tmp_path / "o.vec").exit_code == 2
    assert invoke("export", out, "-o", tmp_path / "o.vec", "-f").exit_code == 0


def test_records_on_stdin_pass_through_first_where_stdin_is_read(tmp_path):
    src, _ = make_vec(tmp_path / "de.vec")
    upstream = ['{"kind":"dictionary","path":"d.txt",  "odd spacing": true}', '{"kind":"model","path":"m"}']
    # import takes no records: it leaves stdin unread (cltc-records(5))
    result = invoke("import", src, "-l", "de", "-o", tmp_path / "s", input="\n".join(upstream) + "\n")
    assert result.exit_code == 0, result.stderr
    [space] = result.stdout.splitlines()
    assert orjson.loads(space)["kind"] == "space"
    # export takes its space from the record stream and passes it through, unchanged and in order
    lines = [*upstream, space]
    result = invoke("export", "-o", tmp_path / "piped.vec", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == lines
    assert read_vectors(tmp_path / "piped.vec").words == WORDS
    bad = invoke("export", "-o", tmp_path / "x.vec", input="not json\n")
    assert bad.exit_code == 2 and "<stdin>:1: " in bad.stderr


def test_quiet_silences_stderr(tmp_path):
    src, _ = make_vec(tmp_path / "de.vec")
    result = invoke("import", src, "-l", "de", "-o", tmp_path / "s", "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(records(result.stdout)) == 1
    result = invoke("export", tmp_path / "s", "-o", tmp_path / "o.vec", "-q")
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == ""


@pytest.mark.parametrize("command", ["import", "export"])
def test_help_shows_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"cltc-embed {command} " in result.stdout
    assert invoke("--help").exit_code == 0


def _script() -> str:
    found = shutil.which("cltc-embed") or str(Path(sys.executable).with_name("cltc-embed"))
    if not Path(found).exists():
        pytest.skip("console script cltc-embed is not installed")
    return found


def test_console_script_closed_pipe_ends_quietly(tmp_path):
    script = _script()
    src, _ = make_vec(tmp_path / "de.vec")
    records_in = "".join(f'{{"kind":"model","path":"m{i}"}}\n' for i in range(20000))
    (tmp_path / "in.jsonl").write_text(records_in)
    for command in (f"'{script}' import de.vec --lang de --out s1 < /dev/null | head -c 0",
                    f"'{script}' import de.vec --lang de --out s2 < in.jsonl | head -n 1"):
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert "Traceback" not in done.stderr, done.stderr
        assert "Error" not in done.stderr and "Exception" not in done.stderr, done.stderr
    assert open_space(tmp_path / "s1").words("de") == WORDS  # the work was done before stdout was closed


def test_console_script_exit_statuses(tmp_path):
    script = _script()
    src, _ = make_vec(tmp_path / "de.vec")
    ok = subprocess.run([script, "import", str(src), "-l", "de", "-o", str(tmp_path / "s")],
                        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert orjson.loads(ok.stdout)["kind"] == "space"
    missing = subprocess.run([script, "import", str(tmp_path / "nope.vec"), "-l", "de", "-o", str(tmp_path / "t")],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"cltc-embed: {tmp_path / 'nope.vec'}: no such file"
