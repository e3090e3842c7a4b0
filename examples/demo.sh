#!/usr/bin/env bash
# The whole pipeline on the synthetic demo world: data -> align -> train mono and multi -> eval -> report.
# Usage: bash examples/demo.sh [OUTDIR]   (default: demo-run; rerunning overwrites it)
set -euo pipefail
out=${1:-demo-run}
w=$out/world
cltc-data demo --out "$w" --force --quiet > /dev/null
cltc-align --method procrustes --pivot en \
    --space="$w"/spaces/{en,de,fr,it} \
    --dict="$w"/dictionaries/{de,fr,it}-en.train.txt \
    --eval-dict="$w"/dictionaries/{de,fr,it}-en.test.txt \
    --out "$out/space" --force \
  | cltc-train --arch mlp --mode mono --data "$w/docs" --out "$out/models" --force \
  | cltc-train --arch mlp --mode multi --data "$w/docs" --out "$out/models" --force \
  | cltc-eval --data "$w/docs" \
  | cltc-report --tee "$out/run.jsonl" --force
