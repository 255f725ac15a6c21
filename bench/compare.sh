#!/bin/bash
# Times `trm bench` and the PyTorch peer (bench/torch_trm.py) on the same model, the same
# batch and the same threads, alternating the two ROUNDS times (default 2), and prints the
# ratios of the best times (PyTorch time / trm time: above 1 means trm is faster). The
# machines these run on are shared and noisy (the same matrix product varies by +-30% from
# one minute to the next), so each figure is the best over REPS repetitions in each of
# ROUNDS alternating runs. Needs python3 with torch, numpy and safetensors.
#
#   bench/compare.sh [PRESET] [BATCH SIZES...]        e.g. bench/compare.sh sudoku-mlp 1 16 64
set -euo pipefail
preset=${1:-sudoku-mlp}
shift || true
sizes=${*:-16 64}
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-2}
trm=${TRM:-target/release/trm}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf "%-6s %14s %14s %7s %14s %14s %7s %12s %12s %7s\n" batch "trm eval ms" "torch eval ms" ratio "trm train ms" "torch train ms" ratio "trm 1-puz ms" "torch 1-puz" ratio
for b in $sizes; do
  for r in $(seq "$rounds"); do
    RAYON_NUM_THREADS=$threads "$trm" bench --preset "$preset" --batch-size "$b" --reps "${REPS:-3}" --json --export "$dir/$b" > "$dir/trm-$b-$r.json"
    python3 "$(dirname "$0")/torch_trm.py" "$dir/$b" --threads "$threads" --reps "${REPS:-3}" --json > "$dir/torch-$b-$r.json"
  done
  python3 - "$dir" "$b" "$rounds" <<'PY'
import json, sys
d, b, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = [json.load(open(f"{d}/trm-{b}-{r}.json")) for r in range(1, rounds + 1)]
p = [json.load(open(f"{d}/torch-{b}-{r}.json")) for r in range(1, rounds + 1)]
best = lambda runs, key: min(x[key] for x in runs)
e, tr, s = best(t, "eval_step_ms"), best(t, "train_step_ms"), best(t, "single_puzzle_ms")
pe, ptr, ps = best(p, "eval_step_ms"), best(p, "train_step_ms"), best(p, "single_ms")
print(f"{b:<6} {e:14.1f} {pe:14.1f} {pe/e:7.2f} {tr:14.1f} {ptr:14.1f} {ptr/tr:7.2f} {s:12.1f} {ps:12.1f} {ps/s:7.2f}")
PY
done
