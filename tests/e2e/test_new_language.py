"""examples/new-language.sh: one cltc-eval call on the demo world's held-out language equals the manual route."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def sh(command: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-c", f"set -euo pipefail; {command}"], capture_output=True, env=ENV,
                            stdin=subprocess.DEVNULL, timeout=600, cwd=cwd, check=False)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return result


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("new-language")
    result = sh(f"bash {REPO / 'examples' / 'new-language.sh'} run", workdir)
    return workdir, result


def test_one_call_records_every_step_and_reports_the_zero_shot_language(example):
    workdir, result = example
    steps = records(workdir / "run" / "es.jsonl")
    assert [(r["kind"], r["tool"]) for r in steps] == [
        ("space", "cltc-embed"), ("space", "cltc-align"), ("translation-metrics", "cltc-align"),
        ("metrics", "cltc-eval")]
    assert steps[1]["params"]["extends"] == "run/space" and steps[1]["langs"] == ["en", "de", "fr", "it", "es"]
    assert steps[2]["csls"]["p@1"] > 80
    metrics = steps[3]
    assert metrics["test_lang"] == "es" and metrics["space"] == "run/es/space" and metrics["macro_f1"] > 0.6
    assert "es (zero-shot" in result.stdout.decode() or "(zero-shot)" in result.stdout.decode()


def test_the_one_call_result_equals_the_manual_route_to_the_last_digit(example):
    workdir, _ = example
    sh("w=run/world; cltc-embed import $w/heldout/es.vec.gz --lang es --out manual/es --quiet > manual.jsonl; "
       "cltc-align --extend run/space --space manual/es --dict $w/dictionaries/es-en.train.txt "
       "--eval-dict $w/dictionaries/es-en.test.txt --out manual/space --quiet >> manual.jsonl; "
       "cltc-eval --model 'run/models/mlp-multi-de+en+fr+it' --space manual/space --data $w/heldout --quiet "
       ">> manual.jsonl", workdir)
    one, manual = records(workdir / "run" / "es.jsonl"), records(workdir / "manual.jsonl")
    different = {"path", "space", "inputs", "params"}  # the folders differ; everything measured must not
    for a, b in zip(one, manual, strict=True):
        assert {k: v for k, v in a.items() if k not in different} == {k: v for k, v in b.items() if k not in different}
    assert one[1]["sha256"] == manual[1]["sha256"]  # the same extended space, byte for byte
    assert one[-1]["outcomes"] == manual[-1]["outcomes"]


def test_the_space_already_holding_the_language_aligns_nothing(example):
    workdir, _ = example
    result = sh("cltc-eval --model 'run/models/mlp-multi-de+en+fr+it' --space run/es/space --data run/world/heldout "
                "--vectors es=run/world/heldout/es.vec.gz --dict identical > again.jsonl", workdir)
    again = records(workdir / "again.jsonl")
    assert [r["kind"] for r in again] == ["metrics"]
    assert again[0]["macro_f1"] == records(workdir / "run" / "es.jsonl")[-1]["macro_f1"]
    assert "not aligned" in result.stderr.decode()


def test_a_space_in_other_coordinates_is_refused_naming_both(example):
    workdir, _ = example
    sh("cltc-align --space=run/world/spaces/{en,de} --dict run/world/dictionaries/de-en.train.txt "
       "--normalize unit --out other --quiet > /dev/null", workdir)
    command = "cltc-eval --model 'run/models/mlp-multi-de+en+fr+it' --space other --data run/world/docs --langs de"
    refused = subprocess.run(["bash", "-c", command], capture_output=True, env=ENV, cwd=workdir,
                             stdin=subprocess.DEVNULL, timeout=300, check=False)
    message = refused.stderr.decode()
    assert refused.returncode == 2 and refused.stdout == b""
    assert "model's space run/space: pivot en (sha256" in message and "normalize unit,center,unit" in message
    assert "given space: pivot en (sha256" in message and "normalize unit (--force" in message
    forced = sh("cltc-eval --model 'run/models/mlp-multi-de+en+fr+it' --space other --data run/world/docs "
                "--langs de --force", workdir)
    assert [json.loads(x)["kind"] for x in forced.stdout.decode().splitlines()] == ["metrics"]
    assert "evaluated anyway" in forced.stderr.decode()


def test_a_fine_tuned_model_warns_when_evaluated_zero_shot(example):
    workdir, _ = example
    sh("cltc-train --arch mlp --mode mono --langs en --space run/space --data run/world/docs --out ft --epochs 2 --fine-tune "
       "--quiet > /dev/null", workdir)
    result = sh("cltc-eval --model ft/mlp-mono-en --space run/es/space --data run/world/heldout --langs es "
                "> /dev/null", workdir)
    assert "warning: ft/mlp-mono-en: embeddings fine-tuned on en: es words keep their untuned vectors" in \
        result.stderr.decode()
    frozen = sh("cltc-eval --model 'run/models/mlp-multi-de+en+fr+it' --data run/world/heldout "
                "--space run/es/space > /dev/null", workdir)
    assert "fine-tuned" not in frozen.stderr.decode()
