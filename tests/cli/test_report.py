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
