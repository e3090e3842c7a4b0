import orjson
from typer.testing import CliRunner

from cltc_tools.cli.report import app

runner = CliRunner()


def metric(mode, lang, f1, space="procrustes"):
    return {"kind": "metrics", "arch": "mlp", "mode": mode, "train_langs": [lang] if mode == "mono" else ["de", "en"],
            "test_lang": lang, "space_method": space, "seed": 0, "macro_f1": f1, "macro_precision": f1,
            "macro_recall": f1}


STREAM = "".join(orjson.dumps(r).decode() + "\n" for r in [
    {"kind": "model", "path": "m"}, metric("mono", "de", 0.5), metric("multi", "de", 0.7),
    metric("multi", "de", 0.6, "cca")])


def test_table_from_stdin_and_from_a_file_agree(tmp_path):
    piped = runner.invoke(app, [], input=STREAM)
    assert piped.exit_code == 0, piped.output
    assert "| DE | best multi | 70.00 (procrustes) |" in piped.stdout
    assert "| DE | gain | 20.00 |" in piped.stdout
    assert "| DE | avg multi | 65.00 |" in piped.stdout
    f = tmp_path / "run.jsonl"
    f.write_text(STREAM)
    assert runner.invoke(app, [str(f)]).stdout == piped.stdout


def test_no_metrics_is_an_error_and_bad_record_names_the_line(tmp_path):
    result = runner.invoke(app, [], input='{"kind": "model"}\n')
    assert result.exit_code == 2 and "no metrics" in result.stderr
    result = runner.invoke(app, [], input='{"kind": "model"}\nnot json\n')
    assert result.exit_code == 2 and "<stdin>:2:" in result.stderr


def test_csv_to_file(tmp_path):
    out = tmp_path / "t.csv"
    result = runner.invoke(app, ["--format", "csv", "--out", str(out)], input=STREAM)
    assert result.exit_code == 0
    assert out.read_text().startswith("lang,row,arch,space,F1,P,R,F1_std,P_std,R_std,seeds,p_value\n")


def test_all_tables_and_figures(tmp_path):
    translation = orjson.dumps({"kind": "translation-metrics", "name": "procrustes", "src_lang": "de", "tgt_lang": "en",
                                "nn": {"p@1": 30.0}, "csls": {"p@1": 35.0}, "nn_all": {"p@1": 20.0},
                                "csls_all": {"p@1": 22.0}, "covered_words": 9, "src_words": 10}).decode() + "\n"
    result = runner.invoke(app, ["--table", "all", "--format", "latex", "--plot", str(tmp_path / "fig")],
                           input=STREAM + translation)
    assert result.exit_code == 0, result.output
    assert result.stdout.count(r"\begin{tabular}") == 3  # comparison, spaces, translation
    for name in ("gain.png", "translation.png"):
        assert (tmp_path / "fig" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert runner.invoke(app, ["--table", "nope"], input=STREAM).exit_code == 2
