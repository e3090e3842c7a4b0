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


def test_relative_paths_and_stdin_left_unread(tmp_path, monkeypatch):
    """demo takes no records: it never reads stdin (so it runs inside a 'while read' loop), cltc-records(5)."""
    monkeypatch.chdir(tmp_path)
    upstream = '{"kind":"metrics","schema":1,"macro_f1":0.5}'
    result = runner.invoke(app, ["demo", "--out", "w", "--dim", "16", "-q"], input=upstream + "\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert upstream not in lines
    paths = [orjson.loads(line)["path"] for line in lines]
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


# --------------------------------------------------------------------------------------------------
# Converters and samplers

from pathlib import Path  # noqa: E402

from cltc_tools.datasets.common import dataset_sha256, source_sha256  # noqa: E402
from cltc_tools.io.documents import read_documents  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SUBCOMMANDS = ("demo", "rcv", "mldoc", "sib200", "xlmt", "tsv", "split", "sample")


def _one_dataset(result) -> dict:
    assert result.exit_code == 0, result.output
    records = parse_records(result.stdout.splitlines())
    assert len(records) == 1 and records[0]["kind"] == "dataset" and records[0]["tool"] == "cltc-data"
    return records[0]


def _count_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def test_rcv_cli(tmp_path):
    out = tmp_path / "rcv"
    xml_dir, archive = FIXTURES / "rcv" / "rcv1", FIXTURES / "rcv" / "rcv2-german-19970305.zip"
    result = runner.invoke(app, ["rcv", str(xml_dir), str(archive), "--out", str(out)])
    record = _one_dataset(result)
    assert record["name"] == "rcv" and record["path"] == str(out)
    assert record["counts"] == {"de": {"train": 2}, "en": {"train": 2}}
    assert record["labels"] == ["CCAT", "ECAT", "GCAT", "MCAT"]
    assert record["read"] == 7 and record["dropped"] == {"no-top-topic": 1, "several-top-topics": 2}
    assert record["inputs"] == [source_sha256(xml_dir), source_sha256(archive)]
    assert record["sha256"] == dataset_sha256(out)
    assert [d.id for d in read_documents(out / "en" / "train.jsonl")] == ["2286", "2289"]
    assert "dropped 1 with none of the four top-level topics, 2 with several top-level topics" in result.stderr
    single = runner.invoke(app, ["rcv", str(archive), "--lang", "de", "--split", "test", "--out",
                                 str(tmp_path / "de.jsonl"), "-q"])
    assert _one_dataset(single)["counts"] == {"de": {"test": 2}} and single.stderr == ""
    assert _count_lines(tmp_path / "de.jsonl") == 2


def test_rcv_cli_bad_xml_writes_nothing(tmp_path):
    bad = FIXTURES / "rcv" / "bad" / "3000newsML.xml"
    result = runner.invoke(app, ["rcv", str(FIXTURES / "rcv" / "rcv1"), str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"cltc-data: {bad}:8: invalid XML (mismatched tag)\n"
    assert not (tmp_path / "o").exists()


def test_rcv_cli_nothing_kept(tmp_path):
    doc = (FIXTURES / "rcv" / "rcv1" / "19960820" / "2287newsML.xml")
    result = runner.invoke(app, ["rcv", str(doc), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no document has exactly one of the topics" in result.stderr and "several top-level topics" in result.stderr
    assert not (tmp_path / "o").exists()


def test_mldoc_sib200_xlmt_tsv_cli(tmp_path):
    out = tmp_path / "data"
    mldoc = runner.invoke(app, ["mldoc", str(FIXTURES / "mldoc" / "english.train.5"), "--out", str(out)])
    assert _one_dataset(mldoc)["counts"] == {"en": {"train": 5}}
    sib = runner.invoke(app, ["sib200", str(FIXTURES / "sib200" / "deu_Latn" / "train.tsv"), "--lang", "de",
                              "--split", "train", "--out", str(out)])
    record = _one_dataset(sib)
    assert record["counts"] == {"de": {"train": 6}} and record["params"]["repair_quotes"] is True
    texts = [d.text for d in read_documents(out / "de" / "train.jsonl")]
    assert texts[2] == 'Der Senator sagte, das Urteil sei "geltendes Recht des Landes" und bleibe.'
    xlmt = runner.invoke(app, ["xlmt", str(FIXTURES / "xlmt" / "german" / "train_text.txt"),
                               str(FIXTURES / "xlmt" / "german" / "train_labels.txt"), "--split", "dev",
                               "--label-names", "neg,neu,pos", "--out", str(out)])
    record = _one_dataset(xlmt)
    assert record["counts"] == {"de": {"dev": 5}} and record["labels"] == ["neg", "neu", "pos"]
    assert len(record["inputs"]) == 2
    tsv = runner.invoke(app, ["tsv", str(FIXTURES / "tsv" / "reviews.csv"), "--lang", "en", "--split", "test",
                              "--text-col", "review", "--label-col", "stars", "--out", str(out)])
    assert _one_dataset(tsv)["counts"] == {"en": {"test": 5}}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jsonl")) == [
        "de/dev.jsonl", "de/train.jsonl", "en/test.jsonl", "en/train.jsonl"], "one folder, built up"
    again = runner.invoke(app, ["mldoc", str(FIXTURES / "mldoc" / "english.train.5"), "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.stderr and again.stdout == ""
    forced = runner.invoke(app, ["mldoc", str(FIXTURES / "mldoc" / "english.train.5"), "--out", str(out), "-f"])
    assert forced.exit_code == 0 and forced.stdout.startswith('{"kind":"dataset"')


@pytest.mark.parametrize("make, args, message", [
    (lambda d: (d / "t.txt").write_text("a\nb\n") + (d / "l.txt").write_text("1\n"),
     ["xlmt", "{d}/t.txt", "{d}/l.txt", "--lang", "en"], "{d}/l.txt:2: label file ends here"),
    (lambda d: (d / "english.dev").write_text("CCAT\tok\nbad line\n"),
     ["mldoc", "{d}/english.dev"], "{d}/english.dev:2: expected LABEL<TAB>TEXT"),
    (lambda d: (d / "x.tsv").write_text("index_id\tcategory\ttext\n"),
     ["sib200", "{d}/x.tsv", "--lang", "de"], "{d}/x.tsv: no documents (only the header)"),
    (lambda d: (d / "x.csv").write_text("text\n"),
     ["tsv", "{d}/x.csv", "--lang", "en"], "{d}/x.csv: no documents (no data rows)"),
    (lambda d: (d / "notes.txt").write_text("CCAT\tx\n"),
     ["mldoc", "{d}/notes.txt"], "{d}/notes.txt: cannot tell the language from the file name: give --lang"),
    (lambda d: (d / "x.csv").write_text("text\nhi\n"),
     ["tsv", "{d}/x.csv", "--lang", "e n"], "not a language code"),
])
def test_converter_errors_exit_2(tmp_path, make, args, message):
    make(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, [a.format(d=tmp_path) for a in args] + ["--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert message.format(d=tmp_path) in result.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def docs_file(tmp_path_factory) -> Path:
    """120 English and 40 German documents with imbalanced labels."""
    path = tmp_path_factory.mktemp("docs") / "docs.jsonl"
    rows = []
    for lang, n in (("en", 120), ("de", 40)):
        for i in range(n):
            label = "x" if i % 8 < 4 else "y" if i % 8 < 6 else "z" if i % 8 == 6 else "w"  # 4:2:1:1
            rows.append(orjson.dumps({"id": f"{lang}-{i}", "lang": lang, "text": f"Text {i} ä", "label": label,
                                      "source": "test"}))
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


def test_split_cli(tmp_path, docs_file):
    out = tmp_path / "split"
    args = ["split", str(docs_file), "--out", str(out), "--dev", "0.1", "--test", "0.25", "--seed", "4"]
    record = _one_dataset(runner.invoke(app, args))
    assert record["name"] == "split" and record["splits"] == ["train", "dev", "test"]
    assert record["counts"] == {"de": {"train": 26, "dev": 4, "test": 10}, "en": {"train": 78, "dev": 12, "test": 30}}
    assert record["inputs"] == [source_sha256(docs_file)] and record["sha256"] == dataset_sha256(out)
    assert record["params"] == {"dev": 0.1, "test": 0.25, "seed": 4}
    original = {line for line in docs_file.read_bytes().splitlines()}
    written = [line for f in sorted(out.rglob("*.jsonl")) for line in f.read_bytes().splitlines()]
    assert sorted(written) == sorted(original), "every line once, unchanged (extra fields kept)"
    for lang in ("en", "de"):
        total = Counter(orjson.loads(x)["label"] for x in original if orjson.loads(x)["lang"] == lang)
        n = sum(total.values())
        for split in ("train", "dev", "test"):
            labels = Counter(d.label for d in read_documents(out / lang / f"{split}.jsonl"))
            size = sum(labels.values())
            assert all(abs(labels[k] - size * total[k] / n) < 1 for k in total), (lang, split, labels)
    before = {p: p.read_bytes() for p in out.rglob("*.jsonl")}
    same = runner.invoke(app, args + ["--force"])
    assert same.exit_code == 0 and same.stdout == runner.invoke(app, args + ["--force"]).stdout
    assert {p: p.read_bytes() for p in out.rglob("*.jsonl")} == before, "same seed, same files"
    other = runner.invoke(app, args[:-1] + ["5", "--force"])
    assert other.exit_code == 0 and {p: p.read_bytes() for p in out.rglob("*.jsonl")} != before


def test_split_then_sample_through_the_record_stream(tmp_path, docs_file):
    split_out, sample_out = tmp_path / "split", tmp_path / "low"
    first = runner.invoke(app, ["split", str(docs_file), "--out", str(split_out), "--seed", "1"])
    assert first.exit_code == 0
    second = runner.invoke(app, ["sample", "--out", str(sample_out), "--max-docs", "10", "--seed", "1"],
                           input=first.stdout)
    assert second.exit_code == 0, second.output
    lines = second.stdout.splitlines()
    assert lines[0] == first.stdout.strip(), "stdin records pass through first"
    record = orjson.loads(lines[1])
    assert record["name"] == "sample" and record["inputs"] == [orjson.loads(lines[0])["sha256"]]
    assert record["counts"]["en"] == {"train": 10, "dev": 12, "test": 24}
    assert record["counts"]["de"] == {"train": 10, "dev": 4, "test": 8}
    assert (sample_out / "en" / "test.jsonl").read_bytes() == (split_out / "en" / "test.jsonl").read_bytes()
    pool = Counter(d.label for d in read_documents(split_out / "en" / "train.jsonl"))
    labels = Counter(d.label for d in read_documents(sample_out / "en" / "train.jsonl"))
    assert all(abs(labels[k] - 10 * pool[k] / 84) < 1 for k in pool), (pool, labels)
    kept = set((sample_out / "en" / "train.jsonl").read_bytes().splitlines())
    assert kept <= set((split_out / "en" / "train.jsonl").read_bytes().splitlines())


def test_sample_paper_shares_and_caps(tmp_path, docs_file):
    split_out = tmp_path / "split"
    assert runner.invoke(app, ["split", str(docs_file), "--out", str(split_out), "--test", "0", "--dev", "0"]
                         ).exit_code == 0
    paper = _one_dataset(runner.invoke(app, ["sample", str(split_out), "--out", str(tmp_path / "p"), "--shares",
                                             "paper", "-q"]))
    assert paper["counts"] == {"de": {"train": 14}, "en": {"train": 120}}, "120 * 50387 / 418566 = 14.4"
    capped = _one_dataset(runner.invoke(app, ["sample", str(split_out / "en" / "train.jsonl"),
                                              str(split_out / "de" / "train.jsonl"), "--out", str(tmp_path / "c"),
                                              "--cap", "en=50,de=45"]))
    assert capped["counts"] == {"de": {"train": 40}, "en": {"train": 50}}
    assert capped["params"]["caps"] == {"de": 45, "en": 50}
    total = _one_dataset(runner.invoke(app, ["sample", str(split_out), "--out", str(tmp_path / "t"),
                                             "--shares", "en=3,de=1", "--total", "40"]))
    assert total["counts"] == {"de": {"train": 10}, "en": {"train": 30}}


@pytest.mark.parametrize("args, message", [
    (["--out", "{d}/o"], "nothing to sample: give --cap, --shares or --max-docs"),
    (["--out", "{d}/o", "--max-docs", "5", "--split", "dev"], "no dev documents in the input"),
    (["--out", "{d}/o", "--cap", "fr=3"], "--cap names language(s) not in the data: fr"),
    (["--out", "{d}/o", "--shares", "nope"], "unknown share table 'nope' (known: paper)"),
    (["--out", "{d}/o", "--shares", "en=5", "--total", "3"], "no share for language(s) de"),
])
def test_sample_usage_errors(tmp_path, docs_file, args, message):
    train = tmp_path / "train.jsonl"  # a file named after a split holds that split
    train.write_bytes(docs_file.read_bytes())
    result = runner.invoke(app, ["sample", str(train)] + [a.format(d=tmp_path) for a in args])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "o").exists()


def test_split_and_sample_need_input(tmp_path):
    for cmd in (["split"], ["sample", "--max-docs", "3"]):
        result = runner.invoke(app, cmd + ["--out", str(tmp_path / "o")])
        assert result.exit_code == 2 and "no input" in result.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = runner.invoke(app, ["split", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and f"{empty}: no documents (the file is empty)" in result.stderr


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout and f"cltc-data {command} " in result.stdout


def test_help_examples_on_the_demo_world(demo_run, tmp_path):
    out, _ = demo_run
    for command in ("split", "sample"):
        line = next(x for x in runner.invoke(app, [command, "--help"]).stdout.splitlines() if "cltc-data demo" in x)
        args = line.split("&&")[1].split()[1:]
        args = [str(out / a.removeprefix("demo/")) if a.startswith("demo/") else str(tmp_path / a) if a.endswith(
            ("-low", "-resplit")) else a for a in args]
        _one_dataset(runner.invoke(app, args + ["-q"]))
    low = tmp_path / "demo-low"
    assert {p.relative_to(low).as_posix() for p in low.rglob("*.jsonl")} == {
        f"{lang}/{split}.jsonl" for lang in ("en", "de", "fr", "it") for split in ("train", "dev", "test")}
    assert all(_count_lines(low / lang / "train.jsonl") == 20 for lang in ("en", "de", "fr", "it"))
    assert (low / "it" / "test.jsonl").read_bytes() == (out / "docs" / "it" / "test.jsonl").read_bytes()
    assert _count_lines(tmp_path / "it-resplit" / "it" / "test.jsonl") == 12, "20% of the 60 Italian documents"


@pytest.mark.integration
def test_split_and_low_data_sample_on_shared_sib200(tmp_path, shared_data):
    trains = sorted((shared_data / "sib200").glob("*/train.jsonl"))
    assert [p.parent.name for p in trains] == ["de", "en", "fr", "it"]
    split = _one_dataset(runner.invoke(app, ["split", *map(str, trains), "--out", str(tmp_path / "s"), "-q"]))
    assert split["counts"]["en"] == {"train": 491, "dev": 70, "test": 140}
    assert len(split["labels"]) == 7
    low = _one_dataset(runner.invoke(app, ["sample", *map(str, trains), "--out", str(tmp_path / "low"),
                                           "--max-docs", "100", "-q"]))
    assert low["counts"] == {lang: {"train": 100} for lang in ("de", "en", "fr", "it")}
    labels = Counter(d.label for d in read_documents(tmp_path / "low" / "en" / "train.jsonl"))
    assert labels["science/technology"] == 25 and labels["geography"] in (8, 9)
