#!/bin/bash
# Times `trm bench` and the PyTorch peer (bench/torch_trm.py) on the same model, the same
# batch and the same threads, one after the other, and prints the ratios (PyTorch time /
# trm time: above 1 means trm is faster). Needs python3 with torch, numpy and safetensors.
#
#   bench/compare.sh [PRESET] [BATCH SIZES...]        e.g. bench/compare.sh sudoku-mlp 1 16 64
set -euo pipefail
preset=${1:-sudoku-mlp}
shift || true
sizes=${*:-16 64}
threads=${THREADS:-$(nproc)}
trm=${TRM:-target/release/trm}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf "%-6s %14s %14s %7s %14s %14s %7s %12s %12s %7s\n" batch "trm eval ms" "torch eval ms" ratio "trm train ms" "torch train ms" ratio "trm 1-puz ms" "torch 1-puz" ratio
for b in $sizes; do
  RAYON_NUM_THREADS=$threads "$trm" bench --preset "$preset" --batch-size "$b" --reps "${REPS:-3}" --json --export "$dir/$b" > "$dir/trm-$b.json"
  python3 "$(dirname "$0")/torch_trm.py" "$dir/$b" --threads "$threads" --reps "${REPS:-3}" --json > "$dir/torch-$b.json"
  python3 - "$dir/trm-$b.json" "$dir/torch-$b.json" "$b" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2])); b = sys.argv[3]
e, tr, s = t["eval_step_ms"], t["train_step_ms"], t["single_puzzle_ms"]
print(f"{b:<6} {e:14.1f} {p['eval_step_ms']:14.1f} {p['eval_step_ms']/e:7.2f} {tr:14.1f} {p['train_step_ms']:14.1f} {p['train_step_ms']/tr:7.2f} {s:12.1f} {p['single_ms']:12.1f} {p['single_ms']/s:7.2f}")
PY
done
