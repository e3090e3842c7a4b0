"""cltc-data demo: records on stdout, exit statuses, refusal without --force, --help example."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from typer.testing import CliRunner

from cltc_tools.cli.data import app
from cltc_tools.io.records import parse_records
from cltc_tools.io.space import open_space

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "world"
    result = runner.invoke(app, ["demo", "--out", str(out), "--seed", "5", "--quiet"])
    return out, result


def test_demo_records(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    records = parse_records(result.stdout.splitlines())
    assert all(r["tool"] == "cltc-data" and r["schema"] == 1 for r in records)
    assert Counter(r["kind"] for r in records) == {"space": 4, "dictionary": 6, "corpus": 3, "dataset": 1}

    spaces = [r for r in records if r["kind"] == "space"]
    assert [r["langs"] for r in spaces] == [["en"], ["de"], ["fr"], ["it"]]
    for r in spaces:
        assert r["path"] == str(out / "spaces" / r["langs"][0])
        assert r["method"] == "demo" and r["params"] == {"dim": 64, "seed": 5}
        assert open_space(r["path"]).sha256 == r["sha256"]

    dictionaries = [r for r in records if r["kind"] == "dictionary"]
    for r in dictionaries:
        assert r["path"] == str(out / "dictionaries" / f"{r['src_lang']}-en.{r['split']}.txt")
        lines = (out / "dictionaries" / f"{r['src_lang']}-en.{r['split']}.txt").read_text().splitlines()
        assert len(lines) == r["pairs"]
    assert {(r["src_lang"], r["split"]) for r in dictionaries} == {
        (lang, split) for lang in ("de", "fr", "it") for split in ("train", "test")}

    for r in (r for r in records if r["kind"] == "corpus"):
        assert r["path"] == str(out / "parallel" / f"{r['src_lang']}-en.jsonl")
        assert r["tgt_lang"] == "en"
        assert len((out / "parallel" / f"{r['src_lang']}-en.jsonl").read_bytes().splitlines()) == r["pairs"]

    (dataset,) = [r for r in records if r["kind"] == "dataset"]
    assert dataset["path"] == str(out / "docs")
    assert dataset["langs"] == ["en", "de", "fr", "it"]
    assert dataset["splits"] == ["train", "dev", "test"]
    assert dataset["counts"]["it"]["train"] == 60 and dataset["counts"]["en"]["train"] == 2000
    assert len(dataset["labels"]) == 6
    for lang, per_split in dataset["counts"].items():
        for split, n in per_split.items():
            assert len((out / "docs" / lang / f"{split}.jsonl").read_bytes().splitlines()) == n


def test_relative_paths_and_stdin_passthrough(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    upstream = '{"kind":"metrics","schema":1,"macro_f1":0.5}'
    result = runner.invoke(app, ["demo", "--out", "w", "--dim", "16", "-q"], input=upstream + "\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == upstream, "stdin records come first, unchanged"
    paths = [orjson.loads(line)["path"] for line in lines[1:]]
    assert len(paths) == 14
    assert paths[0] == "w/spaces/en" and paths[-1] == "w/docs"
    assert all(not p.startswith("/") for p in paths)


def test_existing_output_needs_force(demo_run):
    out, first = demo_run
    before = (out / "spaces" / "it" / "vectors.npy").read_bytes()
    refused = runner.invoke(app, ["demo", "--out", str(out)])
    assert refused.exit_code == 2
    assert refused.stdout == ""
    assert "--force" in refused.stderr and "Traceback" not in refused.output
    forced = runner.invoke(app, ["demo", "--out", str(out), "--seed", "5", "--force"])
    assert forced.exit_code == 0, forced.output
    assert forced.stdout == first.stdout, "same seed, same records"
    assert (out / "spaces" / "it" / "vectors.npy").read_bytes() == before
    assert "wrote" in forced.stderr


def test_bad_dim_is_usage_error(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "w"), "--dim", "3"])
    assert result.exit_code == 2
    assert "--dim" in result.stderr
    assert not (tmp_path / "w").exists()


def test_help_has_example():
    for args in (["--help"], ["demo", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "cltc-data demo --out demo --seed 0" in result.stdout
