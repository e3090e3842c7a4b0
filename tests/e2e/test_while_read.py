"""Every command inside a shell 'while read' loop: a command whose inputs are all given by flags reads no stdin,
so the loop's list is not swallowed (cltc-records(5), "When a command reads stdin")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
W = "w"  # the demo world, made once
M = "m/mlp-multi-de+en+fr+it"
COMMANDS = {
    "cltc-data demo": "cltc-data demo --out demo-$x --dim 8",
    "cltc-data split": f"cltc-data split {W}/docs/it/test.jsonl --out split-$x",
    "cltc-data sample": f"cltc-data sample {W}/docs --out sample-$x --max-docs 5",
    "cltc-data tsv": "cltc-data tsv t.tsv --lang en --out tsv-$x",
    "cltc-embed import": f"cltc-embed import {W}/heldout/es.vec.gz --lang es --out es-$x",
    "cltc-embed export": f"cltc-embed export {W}/spaces/it --out it-$x.vec",
    "cltc-embed train": "cltc-embed train --method fasttext c.txt --lang en --dim 4 --min-count 1 --epoch 1 "
                        "--out ft-$x",
    "cltc-align": f"cltc-align --space={W}/spaces/{{en,it}} --dict {W}/dictionaries/it-en.train.txt --out sp-$x",
    "cltc-align --extend": f"cltc-align --extend s --space {W}/spaces/es --dict identical --out ext-$x",
    "cltc-train": f"cltc-train --space s --data {W}/docs --langs it --mode mono --epochs 1 --out tr-$x",
    "cltc-eval": f"cltc-eval --model {M} --data {W}/docs --langs it",
    "cltc-eval --vectors": f"cltc-eval --model {M} --data {W}/heldout --vectors es={W}/heldout/es.vec.gz "
                           f"--dict identical --out one-$x",
    "cltc-report": "cltc-report r.jsonl",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    setup = (f"cltc-data demo --out {W} --dim 16 -q > /dev/null && "
             f"cltc-align --space={W}/spaces/{{en,de,fr,it}} --dict={W}/dictionaries/{{de,fr,it}}-en.train.txt "
             f"--out s -q > /dev/null && "
             f"cltc-train --space s --data {W}/docs --epochs 2 --out m -q --freeze | "
             f"cltc-eval --data {W}/docs -q > r.jsonl && "
             "printf 'id\\ttext\\tlabel\\n1\\thello world\\ta\\n' > t.tsv && "
             "for i in $(seq 50); do echo 'the cat sat on the mat and the dog ran'; done > c.txt")
    result = subprocess.run(["bash", "-c", setup], capture_output=True, env=ENV, cwd=root, timeout=600,
                            stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return root


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_inside_a_while_read_loop_keeps_the_list(workdir, name):
    script = (f"printf 'a\\nb\\nc\\n' > list-{id(name)}; n=0\n"
              f"while read -r x; do\n  {COMMANDS[name]} -q > out-$x.jsonl || exit 9\n  n=$((n+1))\n"
              f"done < list-{id(name)}\necho \"iterations $n\"")
    result = subprocess.run(["bash", "-c", script], capture_output=True, env=ENV, cwd=workdir, timeout=600,
                            stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().strip() == "iterations 3", f"{name} swallowed the loop's list"
    if name != "cltc-embed export":  # (export writes a vector file and prints no record)
        assert (workdir / "out-c.jsonl").stat().st_size > 0
