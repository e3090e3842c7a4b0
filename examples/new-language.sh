#!/usr/bin/env bash
# A language the model never saw, evaluated in one command: train on the demo world's four languages in one
# aligned space, then evaluate zero-shot on the held-out fifth language (es) from its word vectors and a
# dictionary to English. cltc-eval imports the vectors, maps es into the model's space by the space's recipe
# (the same normalisation, method and refinement, against the same English rows), evaluates, and prints a
# record for every step. The model is trained with frozen embeddings (--freeze): fine-tuned ones move the rows
# of the training languages only, and transfer worse (README, "A language the model never saw").
# Usage: bash examples/new-language.sh [OUTDIR]   (default: new-language-run; rerunning overwrites it)
set -euo pipefail
out=${1:-new-language-run}
w=$out/world
cltc-data demo --out "$w" --force --quiet > /dev/null
cltc-align --method procrustes --pivot en --normalize unit,center,unit \
    --space="$w"/spaces/{en,de,fr,it} --dict="$w"/dictionaries/{de,fr,it}-en.train.txt \
    --out "$out/space" --force --quiet \
  | cltc-train --arch mlp --mode multi --freeze --data "$w/docs" --out "$out/models" --force --quiet \
  | cltc-eval --data "$w/docs" --quiet \
  > "$out/train.jsonl"
cltc-eval --model "$out/models/mlp-multi-de+en+fr+it" --data "$w/heldout" \
    --vectors es="$w/heldout/es.vec.gz" --dict "$w/dictionaries/es-en.train.txt" \
    --eval-dict "$w/dictionaries/es-en.test.txt" --out "$out/es" --force \
  > "$out/es.jsonl"
cat "$out/train.jsonl" "$out/es.jsonl" | cltc-report --table zero-shot
