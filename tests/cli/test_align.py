"""cltc-align through its command line: flags, stdin records, errors, atomic and protected outputs."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cltc_tools.cli.align import app
from cltc_tools.io.space import LangBlock, open_space, write_space

runner = CliRunner()


@pytest.fixture
def data(tmp_path):
    """en and de spaces where de is a rotated, noisy copy of en; train and test dictionaries."""
    rng = np.random.default_rng(0)
    en = rng.standard_normal((60, 8)).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    de = (en @ q.T + 0.05 * rng.standard_normal((60, 8))).astype(np.float32)
    en_words, de_words = [f"e{i}" for i in range(60)], [f"d{i}" for i in range(60)]
    write_space(tmp_path / "en", [LangBlock("en", en_words, en)])
    write_space(tmp_path / "de", [LangBlock("de", de_words, de)])
    write_space(tmp_path / "multi", [LangBlock("de", de_words, de), LangBlock("en", en_words, en)])
    (tmp_path / "de-en.train.txt").write_text("".join(f"d{i} e{i}\n" for i in range(40)) + "dx ex\n")
    (tmp_path / "de-en.test.txt").write_text("".join(f"d{i} e{i}\n" for i in range(40, 60)) + "dmissing e1\n")
    (tmp_path / "de-en.empty.txt").write_text("\n")
    return tmp_path


def align(data, *args, input=None):
    base = ["--dict", str(data / "de-en.train.txt"), "--eval-dict", str(data / "de-en.test.txt"), "--device", "cpu"]
    return runner.invoke(app, [*base, *args], input=input)


def records(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_unknown_method_exits_2_listing_the_known_ones(data):
    result = align(data, "--method", "unknown", "--space", str(data / "de"), "--space", str(data / "en"),
                   "--out", str(data / "out"))
    assert result.exit_code == 2
    assert "procrustes" in result.stderr and "Traceback" not in result.stderr
    assert not (data / "out").exists()


def test_spaces_from_flags_and_from_stdin_records_give_the_same_space(data):
    flags = align(data, "--space", str(data / "de"), "--space", str(data / "en"), "--out", str(data / "a"))
    assert flags.exit_code == 0, flags.stderr
    space, metrics = records(flags)
    piped = [{"kind": "space", "schema": 1, "path": str(data / name)} for name in ("de", "en")]
    stdin = "".join(json.dumps(r) + "\n" for r in piped)
    result = align(data, "--out", str(data / "b"), input=stdin)
    assert result.exit_code == 0, result.stderr
    out = records(result)
    assert out[:2] == piped  # records read are passed through first, unchanged
    assert out[2]["sha256"] == space["sha256"]
    assert out[3]["nn"] == metrics["nn"] and out[3]["csls"] == metrics["csls"]


def test_space_record_and_output_space(data):
    result = align(data, "--space", str(data / "de"), "--space", str(data / "en"), "--out", str(data / "a"),
                   "--normalize", "unit,center,unit")
    space, metrics = records(result)
    assert space["kind"] == "space" and space["langs"] == ["en", "de"] and space["name"] == "procrustes"
    assert space["params"]["pivot"] == "en" and space["params"]["normalize"] == ["unit", "center", "unit"]
    assert space["params"]["pairs"] == {"de": 40} and len(space["inputs"]) == 3
    opened = open_space(data / "a")
    assert opened.sha256 == space["sha256"] and list(opened.langs) == ["en", "de"]
    assert opened.provenance[-1]["params"] == space["params"]
    assert metrics["kind"] == "translation-metrics" and metrics["space"] == str(data / "a")
    assert (metrics["src_lang"], metrics["tgt_lang"], metrics["src_words"], metrics["covered_words"]) == (
        "de", "en", 21, 20)
    assert metrics["nn"]["p@1"] == 100.0 and metrics["nn_all"]["p@1"] == round(100 * 20 / 21, 2)
    assert set(metrics["csls"]) == {"p@1", "p@5", "p@10"}
    assert "de-en  NN P@1 100.00" in result.stderr and "coverage 20/21" in result.stderr
    assert "1 with a word missing" in result.stderr
    assert all(line.startswith("cltc-align: ") for line in result.stderr.splitlines())


def test_pivot_rows_are_kept_and_a_multilingual_input_works(data):
    result = align(data, "--space", str(data / "multi"), "--out", str(data / "m"))
    assert result.exit_code == 0, result.stderr
    separate = align(data, "--space", str(data / "de"), "--space", str(data / "en"), "--out", str(data / "s"))
    assert records(result)[0]["sha256"] == records(separate)[0]["sha256"]
    assert np.array_equal(open_space(data / "m").lang_vectors("en"), open_space(data / "en").lang_vectors("en"))


def test_identical_pseudo_dictionary_names_the_space(data):
    result = runner.invoke(app, ["--space", str(data / "multi"), "--dict", "identical", "--out", str(data / "i")])
    assert result.exit_code == 2 and "no identical strings" in result.stderr
    write_space(data / "en2", [LangBlock("en", [f"d{i}" for i in range(60)], open_space(data / "en").vectors)])
    result = runner.invoke(app, ["--space", str(data / "de"), "--space", str(data / "en2"), "--dict", "identical",
                                 "--identical-max", "30", "--out", str(data / "i")])
    assert result.exit_code == 0, result.stderr
    space = records(result)[0]
    assert space["name"] == "procrustes-identical" and space["params"]["pairs"] == {"de": 30}


def test_existing_output_is_not_overwritten_without_force(data):
    args = ["--space", str(data / "de"), "--space", str(data / "en"), "--out", str(data / "a")]
    assert align(data, *args).exit_code == 0
    before = (data / "a" / "space.json").read_bytes()
    again = align(data, *args, "--normalize", "unit")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert (data / "a" / "space.json").read_bytes() == before
    forced = align(data, *args, "--normalize", "unit", "--force")
    assert forced.exit_code == 0 and (data / "a" / "space.json").read_bytes() != before


@pytest.mark.parametrize("flag", ["--dict", "--eval-dict"])
def test_empty_dictionary_exits_2_naming_the_file_and_writes_nothing(data, flag):
    empty = str(data / "de-en.empty.txt")
    result = runner.invoke(app, ["--space", str(data / "de"), "--space", str(data / "en"), "--dict",
                                 str(data / "de-en.train.txt"), flag, empty, "--out", str(data / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cltc-align: {empty}: ") and "Traceback" not in result.stderr
    assert not (data / "out").exists() and not list(data.glob(".out*"))
    assert result.stdout == ""


def test_dictionary_without_usable_pairs_exits_2(data):
    (data / "de-en.oov.txt").write_text("foo bar\n")
    result = runner.invoke(app, ["--space", str(data / "de"), "--space", str(data / "en"), "--dict",
                                 str(data / "de-en.oov.txt"), "--out", str(data / "out")])
    assert result.exit_code == 2 and str(data / "de-en.oov.txt") in result.stderr
    assert not (data / "out").exists()


def test_help_shows_an_example():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "cltc-align --method procrustes --space" in result.stdout and "--eval-dict" in result.stdout


def test_a_dictionary_from_the_pivot_is_read_the_other_way_round(data):
    (data / "en-de.train.txt").write_text("".join(f"e{i} d{i}\n" for i in range(40)))
    common = ["--space", str(data / "multi"), "--eval-dict", str(data / "de-en.test.txt"), "--device", "cpu"]
    forward = runner.invoke(app, [*common, "--dict", str(data / "de-en.train.txt"), "--out", str(data / "f")])
    reverse = runner.invoke(app, [*common, "--dict", str(data / "en-de.train.txt"), "--out", str(data / "r")])
    assert reverse.exit_code == 0, reverse.stderr
    assert records(reverse)[0]["sha256"] == records(forward)[0]["sha256"]
    other = runner.invoke(app, ["--space", str(data / "multi"), "--dict", str(data / "de-en.train.txt"),
                                "--pivot", "fr", "--out", str(data / "x")])
    assert other.exit_code == 2 and "pivot language 'fr'" in other.stderr


# --- every method from the command line


def test_help_has_an_example_of_every_method_and_of_refinement():
    result = runner.invoke(app, ["--help"])
    for needle in ("--method procrustes", "--method cca", "--method attract-repel", "--refine 5", "--preset paper",
                   "--sv-threshold", "--join regression", "--dict identical"):
        assert needle in result.stdout, needle


def test_unknown_method_lists_every_method(data):
    result = align(data, "--method", "nope", "--space", str(data / "multi"), "--out", str(data / "out"))
    assert result.exit_code == 2
    assert "known: attract-repel, cca, identity, multistep, procrustes, rcsls" in result.stderr


def test_an_option_of_another_method_exits_2(data):
    result = align(data, "--method", "cca", "--sv-threshold", "1", "--space", str(data / "multi"),
                   "--out", str(data / "out"))
    assert result.exit_code == 2 and "--sv-threshold does not apply to --method cca" in result.stderr
    assert not (data / "out").exists()


def test_procrustes_paper_preset_reduces_and_normalises(data):
    result = align(data, "--preset", "paper", "--space", str(data / "multi"), "--out", str(data / "p"))
    assert result.exit_code == 0, result.stderr
    space, metrics = records(result)
    assert space["params"]["sv_threshold"] == 1.0 and space["params"]["normalize"] == ["unit"]
    assert space["params"]["preset"] == "paper" and space["fit"]["method"]["de"]["kept_dims"] <= 8
    assert metrics["nn"]["p@1"] == 100.0
    explicit = align(data, "--preset", "paper", "--sv-threshold", "1e9", "--space", str(data / "multi"),
                     "--out", str(data / "q"))
    assert records(explicit)[0]["fit"]["method"]["de"]["kept_dims"] == 1  # explicit options win over the preset


@pytest.mark.parametrize("space", ["pivot", "cca"])
def test_cca_runs_from_the_command_line(data, space):
    result = align(data, "--method", "cca", "--cca-space", space, "--space", str(data / "multi"),
                   "--out", str(data / "c"))
    assert result.exit_code == 0, result.stderr
    record, metrics = records(result)
    assert record["method"] == "cca" and record["params"]["cca_space"] == space
    assert record["fit"]["method"]["de"]["correlations"]["first"] > 0.9
    assert metrics["nn"]["p@1"] >= 90 and "canonical correlations" in result.stderr


def test_attract_repel_runs_from_the_command_line_with_constraint_files(data):
    (data / "syn.txt").write_text("".join(f"de_d{i} en_e{i}\n" for i in range(0, 40, 2)))
    (data / "ant.txt").write_text("e1 e2\ne3 e4\n")
    result = align(data, "--method", "attract-repel", "--attract", str(data / "syn.txt"),
                   "--repel", f"{data / 'ant.txt'}:en", "--ar-batch", "10", "--ar-init", "procrustes",
                   "--space", str(data / "multi"), "--out", str(data / "ar"))
    assert result.exit_code == 0, result.stderr
    record, metrics = records(result)
    counts = record["fit"]["method"]["runs"]["en-de"]
    assert counts["attract_rows"] == 40 and counts["dictionary_pairs"] == 40 and counts["repel_rows"] == 2
    assert len(record["inputs"]) == 4  # the space, the dictionary and both constraint files
    assert record["params"]["attract"] == [str(data / "syn.txt")]
    assert metrics["nn"]["p@1"] >= 90 and "attract-repel en-de" in result.stderr  # test words: no constraints
    assert open_space(data / "ar").lang_vectors("de").shape == (60, 8)


def test_attract_repel_needs_no_dictionary_but_some_constraint(data):
    (data / "syn.txt").write_text("de_d1 en_e1\n")
    base = ["--method", "attract-repel", "--space", str(data / "multi"), "--device", "cpu"]
    ok = runner.invoke(app, [*base, "--attract", str(data / "syn.txt"), "--out", str(data / "a")])
    assert ok.exit_code == 0, ok.stderr
    none = runner.invoke(app, [*base, "--out", str(data / "b")])
    assert none.exit_code == 2 and "needs constraints" in none.stderr and not (data / "b").exists()


def test_refinement_rounds_are_recorded_and_named(data):
    result = align(data, "--refine", "2", "--refine-vocab", "50", "--space", str(data / "multi"),
                   "--out", str(data / "r"))
    assert result.exit_code == 0, result.stderr
    record, _ = records(result)
    assert record["name"] == "procrustes-refine" and record["params"]["refine"] == 2
    assert len(record["fit"]["refine"]["pairs"]["de"]) == 2 and "refine de" in result.stderr


def test_eval_dict_folder_scores_every_pair_of_the_space(data):
    folder = data / "tests"
    folder.mkdir()
    (folder / "de-en.5000-6500.txt").write_text("".join(f"d{i} e{i}\n" for i in range(40, 60)))
    (folder / "en-de.5000-6500.txt").write_text("".join(f"e{i} d{i}\n" for i in range(40, 60)))
    (folder / "fr-en.5000-6500.txt").write_text("x y\n")  # fr is not in the space: not evaluated
    result = runner.invoke(app, ["--space", str(data / "multi"), "--dict", str(data / "de-en.train.txt"),
                                 "--eval-dict", str(folder), "--out", str(data / "e"), "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    pairs = [(r["src_lang"], r["tgt_lang"]) for r in records(result)[1:]]
    assert pairs == [("de", "en"), ("en", "de")]


def test_a_missing_constraint_file_exits_2_before_any_work(data):
    result = align(data, "--method", "attract-repel", "--attract", str(data / "nope.txt"), "--space",
                   str(data / "multi"), "--out", str(data / "out"))
    assert result.exit_code == 2 and f"{data / 'nope.txt'}: no such constraint file" in result.stderr
    assert not (data / "out").exists()


def test_identity_evaluates_a_multilingual_space_without_a_dictionary(data):
    result = runner.invoke(app, ["--method", "identity", "--space", str(data / "multi"), "--eval-dict",
                                 str(data / "de-en.test.txt"), "--device", "cpu", "--out", str(data / "out")])
    assert result.exit_code == 0, result.stderr
    space, metrics = records(result)[0], records(result)[1]
    assert space["method"] == "identity" and metrics["kind"] == "translation-metrics"
    assert space["name"] == metrics["name"] == "identity"  # the input space has no name of its own
    # de is a rotated copy of en: without a map, translation fails; the vectors are kept as they are
    assert metrics["nn"]["p@1"] < 30
    np.testing.assert_array_equal(open_space(data / "out").lang_vectors("de"),
                                  open_space(data / "multi").lang_vectors("de"))


def test_identity_keeps_the_name_of_a_named_space(data):
    multi = open_space(data / "multi")
    write_space(data / "named", [LangBlock(lang, multi.words(lang), multi.lang_vectors(lang)) for lang in ("de", "en")],
                extra={"name": "biskip", "method": "biskip"})
    result = runner.invoke(app, ["--method", "identity", "--space", str(data / "named"), "--device", "cpu",
                                 "--out", str(data / "out")])
    assert result.exit_code == 0, result.stderr
    assert records(result)[0]["name"] == "biskip"


@pytest.mark.parametrize("method", ["procrustes", "rcsls"])
def test_the_matrices_spilled_during_a_fit_are_removed(data, monkeypatch, method):
    spill = data / "tmp"
    spill.mkdir()
    monkeypatch.setenv("TMPDIR", str(spill))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    out = data / "aligned"
    result = align(data, "--space", str(data / "de"), "--space", str(data / "en"), "--method", method,
                   "--refine", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert open_space(out).langs and not list(spill.iterdir())
