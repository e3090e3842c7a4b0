"""cltc-align --extend: a new language enters an aligned space by the space's own recipe; nothing else moves."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from cltc_tools.align.extend import extend_space
from cltc_tools.align.pipeline import align_spaces
from cltc_tools.cli.align import app
from cltc_tools.datasets.demo import DemoConfig, write_demo
from cltc_tools.errors import InputError
from cltc_tools.io.space import block_sha256, open_space

runner = CliRunner()
OTHERS = ("de", "fr", "it")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("extend") / "demo"
    write_demo(root, DemoConfig())
    return root


def base_space(demo, out, **kwargs):
    return align_spaces([demo / "spaces" / lang for lang in ("en", *OTHERS)], out,
                        dicts=[demo / "dictionaries" / f"{lang}-en.train.txt" for lang in OTHERS], device="cpu",
                        **kwargs)


def scores(result):
    return [(e.src_lang, e.tgt_lang, e.scores.fields()) for e in result.evaluations]


@pytest.mark.parametrize("method, options, steps", [
    ("procrustes", {"refine": 2, "sv_threshold": 1.0}, "unit,center,unit"),
    ("cca", {"cca_space": "pivot", "cca_ratio": 0.5}, "unit"),
])
def test_extension_copies_every_row_and_scores_like_aligning_from_scratch(demo, tmp_path, method, options, steps):
    base = base_space(demo, tmp_path / "base", method=method, options=options, normalize_steps=steps)
    test_dict = [demo / "dictionaries" / "es-en.test.txt"]
    train_dict = [demo / "dictionaries" / "es-en.train.txt"]
    extended = extend_space(tmp_path / "base", [demo / "spaces" / "es"], tmp_path / "ext", dicts=train_dict,
                            eval_dicts=test_dict, device="cpu")
    scratch = align_spaces([demo / "spaces" / "en", demo / "spaces" / "es"], tmp_path / "scratch", method=method,
                           options=options, normalize_steps=steps, dicts=train_dict, eval_dicts=test_dict,
                           device="cpu")
    old, new = open_space(base.path), open_space(extended.path)
    rows = len(old)
    assert list(new.langs) == [*old.langs, "es"] and new.langs["es"] == (rows, rows + 3300)
    assert (tmp_path / "ext" / "words.txt").read_bytes().startswith((tmp_path / "base" / "words.txt").read_bytes())
    assert np.asarray(new.vectors[:rows]).tobytes() == np.asarray(old.vectors).tobytes()
    assert scores(extended) == scores(scratch) and scores(extended)[0][2]["csls"]["p@1"] > 30
    assert np.array_equal(new.lang_vectors("es"), open_space(scratch.path).lang_vectors("es"))
    meta = json.loads((tmp_path / "ext" / "space.json").read_text())
    assert meta["recipe"] == json.loads((tmp_path / "base" / "space.json").read_text())["recipe"]
    assert meta["extends"] == {"path": str(tmp_path / "base"), "sha256": old.sha256}
    assert new.provenance[:-1] == old.provenance and new.provenance[-1]["params"]["extends"] == str(base.path)
    assert meta["recipe"]["pivot_sha256"] == block_sha256(new.block("en"))


def test_the_command_line_writes_the_space_and_translation_records(demo, tmp_path):
    base_space(demo, tmp_path / "base", normalize_steps="unit")
    result = runner.invoke(app, ["--extend", str(tmp_path / "base"), "--space", str(demo / "spaces" / "es"),
                                 "--dict", "identical", "--eval-dict", str(demo / "dictionaries" / "es-en.test.txt"),
                                 "--out", str(tmp_path / "ext"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    space, metrics = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert space["langs"] == ["en", *OTHERS, "es"] and space["params"]["extends"] == str(tmp_path / "base")
    assert space["params"]["normalize"] == ["unit"] and space["params"]["dicts"] == ["identical"]
    assert metrics["src_lang"] == "es" and metrics["inputs"][0] == space["sha256"]
    again = runner.invoke(app, ["--extend", str(tmp_path / "base"), "--space", str(demo / "spaces" / "es"),
                                "--dict", "identical", "--normalize", "unit,center", "--method", "cca",
                                "--out", str(tmp_path / "other")])
    assert again.exit_code == 2 and "drop --method, --normalize" in again.stderr


def test_methods_that_move_the_pivot_or_fit_no_map_refuse(demo, tmp_path):
    base_space(demo, tmp_path / "cca", method="cca", options={"cca_space": "cca"})
    with pytest.raises(InputError, match="cannot take new languages: --cca-space cca moves the pivot"):
        extend_space(tmp_path / "cca", [demo / "spaces" / "es"], tmp_path / "x", dicts=["identical"])
    align_spaces([tmp_path / "cca"], tmp_path / "identity", method="identity", device="cpu")
    with pytest.raises(InputError, match="made by identity cannot take new languages: it fits no map"):
        extend_space(tmp_path / "identity", [demo / "spaces" / "es"], tmp_path / "x", dicts=["identical"])
    assert not (tmp_path / "x").exists()


def test_a_language_already_in_the_space_or_a_space_without_recipe_is_refused(demo, tmp_path):
    base_space(demo, tmp_path / "base")
    with pytest.raises(InputError, match="language 'de' is in the space to extend already"):
        extend_space(tmp_path / "base", [demo / "spaces" / "de"], tmp_path / "x", dicts=["identical"])
    with pytest.raises(InputError, match="records no recipe"):
        extend_space(demo / "spaces" / "en", [demo / "spaces" / "es"], tmp_path / "x", dicts=["identical"])
    meta = json.loads((tmp_path / "base" / "space.json").read_text())
    meta["recipe"]["pivot_sha256"] = "0" * 64
    (tmp_path / "base" / "space.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="does not match the fingerprint"):
        extend_space(tmp_path / "base", [demo / "spaces" / "es"], tmp_path / "x", dicts=["identical"])
