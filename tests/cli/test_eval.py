import orjson
import pytest
from typer.testing import CliRunner
from worlds import make_tiny_world

from cltc_tools.cli.eval import app as eval_app
from cltc_tools.cli.train import app as train_app
from cltc_tools.io.space import LangBlock, open_space, write_space

runner = CliRunner()


@pytest.fixture(scope="module")
def model_stream(tiny_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    result = runner.invoke(train_app, ["--mode", "multi", "--space", str(tiny_world / "space"), "--data",
                                       str(tiny_world / "docs"), "--out", str(out), "-q", "--epochs", "10"])
    assert result.exit_code == 0, result.output
    return result.stdout


def parse(output):
    return [orjson.loads(x) for x in output.splitlines() if x.strip()]


def test_metrics_record_per_model_and_language_from_stdin_and_from_flags(tiny_world, model_stream, tmp_path):
    piped = runner.invoke(eval_app, ["--data", str(tiny_world / "docs"), "-q"], input=model_stream)
    assert piped.exit_code == 0, piped.output
    recs = parse(piped.stdout)
    assert [r["kind"] for r in recs] == ["model", "metrics", "metrics"]
    metrics = recs[1:]
    assert [m["test_lang"] for m in metrics] == ["de", "en"]
    for m in metrics:
        for key in ("arch", "mode", "train_langs", "space_method", "seed", "n", "macro_f1", "macro_precision",
                    "macro_recall", "accuracy", "per_label", "confusion"):
            assert key in m
        assert m["macro_f1"] > 0.8
    model_path = recs[0]["path"]
    by_flag = runner.invoke(eval_app, ["--model", model_path, "--data", str(tiny_world / "docs"), "-q"])
    assert parse(by_flag.stdout) == metrics


def test_predictions_file_keeps_unknown_fields(tiny_world, model_stream, tmp_path):
    test = tmp_path / "t.jsonl"
    test.write_text('{"id": "a", "lang": "de", "text": "dew1 dew2", "label": "alpha", "source": "x"}\n')
    pred = tmp_path / "pred.jsonl"
    result = runner.invoke(eval_app, ["--test", str(test), "--predictions", str(pred), "-q"], input=model_stream)
    assert result.exit_code == 0, result.output
    row = orjson.loads(pred.read_text().splitlines()[0])
    assert row["source"] == "x" and row["pred"] in ("alpha", "beta", "gamma") and row["label"] == "alpha"
    assert parse(result.stdout)[-1]["kind"] == "predictions"


def test_label_never_seen_in_training_counts_as_error(tiny_world, model_stream, tmp_path):
    test = tmp_path / "t.jsonl"
    test.write_text('{"lang": "de", "text": "dew1", "label": "delta"}\n')
    result = runner.invoke(eval_app, ["--test", str(test)], input=model_stream)
    assert result.exit_code == 0
    assert "delta" in result.stderr
    m = parse(result.stdout)[-1]
    assert m["accuracy"] == 0.0 and m["per_label"]["delta"]["support"] == 1


def test_language_missing_from_the_space_is_exit_2(tiny_world, model_stream, tmp_path):
    test = tmp_path / "t.jsonl"
    test.write_text('{"lang": "sw", "text": "habari", "label": "alpha"}\n')
    result = runner.invoke(eval_app, ["--test", str(test)], input=model_stream)
    assert result.exit_code == 2 and "sw" in result.stderr and "--space" in result.stderr


def test_zero_shot_on_a_language_added_to_the_space_after_training(tmp_path):
    """Train on English alone in an English-only space; evaluate French through a later space in the same
    coordinate system."""
    world = make_tiny_world(tmp_path / "w", langs=("en", "fr"), n_train={"en": 150, "fr": 30})
    full = open_space(world / "space")
    write_space(tmp_path / "en-only", [full.block("en")])
    trained = runner.invoke(train_app, ["--mode", "mono", "--space", str(tmp_path / "en-only"), "--train",
                                        str(world / "docs" / "en" / "train.jsonl"), "--dev",
                                        str(world / "docs" / "en" / "dev.jsonl"), "--out", str(tmp_path / "m"),
                                        "-q", "--epochs", "15"])
    assert trained.exit_code == 0, trained.output
    model = str(tmp_path / "m" / "mlp-mono-en")
    no_space = runner.invoke(eval_app, ["--model", model, "--data", str(world / "docs"), "--langs", "fr"])
    assert no_space.exit_code == 2 and "--space" in no_space.stderr
    later = tmp_path / "en-fr"
    write_space(later, [full.block("en"), LangBlock("fr", full.words("fr"), full.lang_vectors("fr"))])
    result = runner.invoke(eval_app, ["--model", model, "--space", str(later), "--data", str(world / "docs"),
                                      "--langs", "fr", "-q"])
    assert result.exit_code == 0, result.output
    m = parse(result.stdout)[0]
    assert m["test_lang"] == "fr" and m["zero_shot_space"] is True and m["train_langs"] == ["en"]
    assert m["macro_f1"] > 0.7  # chance is 1/3
