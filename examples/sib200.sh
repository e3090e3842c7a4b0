#!/usr/bin/env bash
# Real data: SIB-200 topic classification in en/de/fr/it with fastText vectors aligned by Procrustes.
# Usage: bash examples/sib200.sh DATA [OUTDIR]        (SEED=0 and TRAIN_FLAGS="" by default, e.g. TRAIN_FLAGS=--fine-tune)
#   DATA holds embeddings/eltec-parallel/*.vec.gz, dictionaries/*.txt and sib200/<lang>/*.jsonl
#   (the folder layout of the public data described in README.md).
set -euo pipefail
data=${1:?usage: examples/sib200.sh DATA [OUTDIR]}
out=${2:-sib200-run}
seed=${SEED:-0}
read -r -a flags <<< "${TRAIN_FLAGS:-}"
mkdir -p "$out"
for lang in en de fr it; do
    cltc-embed import "$data/embeddings/eltec-parallel/$lang.300d.vec.gz" --lang "$lang" \
        --out "$out/vectors/$lang" --force --quiet
done > "$out/import.jsonl"
cat "$out/import.jsonl" \
  | cltc-align --method procrustes --pivot en --normalize unit,center,unit \
      --dict="$data"/dictionaries/{de,fr,it}-en.0-5000.txt \
      --eval-dict="$data"/dictionaries/{de,fr,it}-en.5000-6500.txt \
      --out "$out/space-procrustes" --force \
  | tee "$out/align.jsonl" \
  | cltc-train --arch mlp --mode mono --tokenizer eltec --data "$data/sib200" --out "$out/models" --seed "$seed" "${flags[@]}" --force \
  | cltc-train --arch mlp --mode multi --tokenizer eltec --data "$data/sib200" --out "$out/models" --seed "$seed" "${flags[@]}" --force \
  | cltc-eval --data "$data/sib200" \
  > "$out/run.jsonl"
cltc-report "$out/run.jsonl" --format markdown
