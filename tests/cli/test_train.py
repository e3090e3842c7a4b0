import orjson
from typer.testing import CliRunner

from cltc_tools.cli.train import app

runner = CliRunner()
FAST = ["--epochs", "8", "--patience", "3"]


def records(output: str) -> list[dict]:
    return [orjson.loads(line) for line in output.splitlines() if line.strip()]


def space_record(world) -> str:
    return orjson.dumps({"kind": "space", "schema": 1, "path": str(world / "space"), "method": "tiny",
                         "name": "tiny"}).decode() + "\n"


def test_same_case_from_flags_and_from_stdin_records(tiny_world, tmp_path):
    by_flag = runner.invoke(app, ["--mode", "multi", "--space", str(tiny_world / "space"), "--data",
                                  str(tiny_world / "docs"), "--out", str(tmp_path / "a"), "-q", *FAST])
    assert by_flag.exit_code == 0, by_flag.output
    piped = runner.invoke(app, ["--mode", "multi", "--data", str(tiny_world / "docs"), "--out", str(tmp_path / "b"),
                                "-q", *FAST], input=space_record(tiny_world))
    assert piped.exit_code == 0, piped.output
    a, b = records(by_flag.stdout), records(piped.stdout)
    assert [r["kind"] for r in a] == ["model"]
    assert [r["kind"] for r in b] == ["space", "model"]  # the input record passes through first
    assert a[0]["dev_macro_f1"] == b[1]["dev_macro_f1"]
    assert b[1]["train_langs"] == ["de", "en"] and b[1]["space_method"] == "tiny"


def test_mono_mode_emits_one_model_record_per_language(tiny_world, tmp_path):
    result = runner.invoke(app, ["--mode", "mono", "--space", str(tiny_world / "space"), "--data",
                                 str(tiny_world / "docs"), "--out", str(tmp_path), "-q", *FAST])
    assert result.exit_code == 0, result.output
    assert [r["train_langs"] for r in records(result.stdout)] == [["de"], ["en"]]


def test_missing_label_is_exit_2_with_file_and_line(tiny_world, tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"lang": "en", "text": "enw1 enw2", "label": "alpha"}\n{"lang": "en", "text": "enw3"}\n')
    result = runner.invoke(app, ["--space", str(tiny_world / "space"), "--train", str(bad), "--out",
                                 str(tmp_path / "m"), "-q"])
    assert result.exit_code == 2
    assert f"{bad}:2: missing field 'label'" in result.stderr
    assert not (tmp_path / "m").exists()


def test_unknown_arch_and_unknown_language(tiny_world, tmp_path):
    result = runner.invoke(app, ["--arch", "nope", "--space", str(tiny_world / "space"), "--data",
                                 str(tiny_world / "docs")])
    assert result.exit_code == 2 and "known: " in result.stderr and "mlp" in result.stderr
    other = tmp_path / "sw.jsonl"
    other.write_text('{"lang": "sw", "text": "habari", "label": "alpha"}\n'
                     '{"lang": "sw", "text": "jambo", "label": "beta"}\n')
    result = runner.invoke(app, ["--space", str(tiny_world / "space"), "--train", str(other), "--out",
                                 str(tmp_path / "m2")])
    assert result.exit_code == 2 and "sw" in result.stderr and "no vectors" in result.stderr
    assert not (tmp_path / "m2").exists()


def test_existing_output_needs_force(tiny_world, tmp_path):
    args = ["--space", str(tiny_world / "space"), "--data", str(tiny_world / "docs"), "--out", str(tmp_path), "-q",
            *FAST]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_malformed_jsonl_line_is_exit_2_with_file_and_line(tiny_world, tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"lang": "en", "text": "enw1", "label": "alpha"}\n{"lang": "en", "text": "enw2", "label": \n')
    result = runner.invoke(app, ["--space", str(tiny_world / "space"), "--train", str(bad), "--out",
                                 str(tmp_path / "m")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cltc-train: {bad}:2: invalid JSON")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()


def test_wrong_vector_dimension_in_the_space_is_exit_2(tiny_world, tmp_path):
    import shutil

    import numpy as np

    broken = tmp_path / "space"
    shutil.copytree(tiny_world / "space", broken)
    np.save(broken / "vectors.npy", np.zeros((400, 7), dtype=np.float32))
    result = runner.invoke(app, ["--space", str(broken), "--data", str(tiny_world / "docs"), "--out",
                                 str(tmp_path / "m")])
    assert result.exit_code == 2 and "dim 16" in result.stderr and "space.json" in result.stderr
    assert not (tmp_path / "m").exists()


def test_sent_ali_architecture_with_parallel_file_and_exported_space(tiny_world, tmp_path):
    import random

    from cltc_tools.io.space import open_space

    rng = random.Random(0)
    lines = []
    for _ in range(300):
        words = [rng.randrange(200) for _ in range(6)]
        lines.append(orjson.dumps({"src_lang": "de", "src": " ".join(f"dew{w}" for w in words), "tgt_lang": "en",
                                   "tgt": " ".join(f"enw{w}" for w in words)}).decode())
    parallel = tmp_path / "de-en.jsonl"
    parallel.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["--arch", "gru-att+sent-ali", "--space", str(tiny_world / "space"), "--data",
                                 str(tiny_world / "docs"), "--parallel", str(parallel), "--out", str(tmp_path / "m"),
                                 "--export-space", str(tmp_path / "tuned"), "--epochs", "2", "--ali-lr", "0.005",
                                 "-q"])
    assert result.exit_code == 0, result.output
    model, space = records(result.stdout)
    assert model["params"]["ali_lr"] == 0.005
    assert model["kind"] == "model" and model["arch"] == "gru-att+sent-ali"
    assert space["kind"] == "space" and space["method"] == "fine-tuned" and space["langs"] == ["de", "en"]
    assert space["inputs"] == [model["inputs"][0]]  # derived from the space the model trained on
    assert set(open_space(space["path"]).langs) == {"de", "en"}
    missing = runner.invoke(app, ["--arch", "han+sent-ali", "--space", str(tiny_world / "space"), "--data",
                                  str(tiny_world / "docs"), "--out", str(tmp_path / "m2")])
    assert missing.exit_code == 2 and "--parallel" in missing.stderr


def test_alignment_options_with_a_single_task_architecture_exit_2(tiny_world, tmp_path):
    result = runner.invoke(app, ["--arch", "gru-att", "--space", str(tiny_world / "space"), "--data",
                                 str(tiny_world / "docs"), "--ali-lr", "0.01", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "--ali-lr applies to the +sent-ali architectures, not --arch gru-att" in result.stderr
    assert not (tmp_path / "m").exists()
