#!/bin/bash
# Times `trm bench` and a PyTorch peer on the same model, the same batch and the same threads,
# alternating the two ROUNDS times (default 2), and prints the ratios of the best times
# (PyTorch time / trm time: above 1 means trm is faster). The machines these run on are
# shared and noisy (the same matrix product varies by +-30% from one minute to the next), so
# each figure is the best over REPS repetitions in each of ROUNDS alternating runs.
#
#   OFFICIAL=DIR bench/compare.sh [PRESET] [BATCH SIZES...]   e.g. OFFICIAL=~/TinyRecursiveModels bench/compare.sh sudoku-mlp 1 16 64
#
# The default peer is bench/official_bench.py, which times the official TRM module itself,
# imported from OFFICIAL, the root of a clone of the official repository (see that script's
# docstring: https://github.com/SamsungSAILMontreal/TinyRecursiveModels at commit e7b6871).
# Each peer run first checks that the official module computes our numbers; a mismatch
# stops the script. Environment:
#   OFFICIAL  the official clone (required for the default peer)
#   PYTHON    the python that has torch, numpy, safetensors, einops, pydantic [python3]
#   PEER      official (default) or torch_trm (bench/torch_trm.py, our rewrite; needs no OFFICIAL)
#   COMPILE   1: also time the official module under torch.compile, one more row per batch
#             size marked "c" (compiling takes minutes on a small CPU; if it fails, the error
#             is printed and the eager row stands) [0]
#   ROUNDS, REPS, THREADS   alternating rounds [2], repetitions per run [3], threads [nproc]
#   DEVICE, DTYPE           cpu or cuda [cpu], f32 or bf16 [f32], given to both sides
#   SET       space-separated `trm bench --set` overrides, e.g. "arch.mlp_t=false arch.pos_encodings=rope"
#   TRM       the trm binary [target/release/trm]
set -euo pipefail
preset=${1:-sudoku-mlp}
shift || true
sizes=${*:-16 64}
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-2}
reps=${REPS:-3}
trm=${TRM:-target/release/trm}
py=${PYTHON:-python3}
peer=${PEER:-official}
device=${DEVICE:-cpu}
dtype=${DTYPE:-f32}
compile=${COMPILE:-0}
here=$(dirname "$0")
case "$peer" in
  official)
    if [ -z "${OFFICIAL:-}" ]; then
      echo "compare.sh: set OFFICIAL to the root of a clone of https://github.com/SamsungSAILMontreal/TinyRecursiveModels (commit e7b6871), or PEER=torch_trm for the rewrite" >&2
      exit 2
    fi
    [ -f "$OFFICIAL/models/recursive_reasoning/trm.py" ] || { echo "compare.sh: OFFICIAL=$OFFICIAL has no models/recursive_reasoning/trm.py" >&2; exit 2; }
    ;;
  torch_trm) compile=0 ;;
  *) echo "compare.sh: PEER is official or torch_trm, not $peer" >&2; exit 2 ;;
esac
sets=()
for s in ${SET:-}; do sets+=(--set "$s"); done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

run_peer() {  # run_peer EXPORT_DIR OUT_JSON [--compile]
  if [ "$peer" = torch_trm ]; then
    "$py" "$here/torch_trm.py" "$1" --threads "$threads" --reps "$reps" --json > "$2"
  else
    "$py" "$here/official_bench.py" "$1" --official "$OFFICIAL" --device "$device" --dtype "$dtype" \
      --threads "$threads" --reps "$reps" --json "${@:3}" > "$2"
  fi
}

echo "peer: $peer${OFFICIAL:+ ($OFFICIAL)}, preset $preset${SET:+ (--set $SET)}, $device $dtype, $threads threads, best of $reps reps x $rounds rounds"
printf "%-6s %14s %14s %7s %14s %14s %7s %12s %12s %7s\n" batch "trm eval ms" "torch eval ms" ratio "trm train ms" "torch train ms" ratio "trm 1-puz ms" "torch 1-puz" ratio
for b in $sizes; do
  for r in $(seq "$rounds"); do
    RAYON_NUM_THREADS=$threads "$trm" bench --preset "$preset" "${sets[@]}" --batch-size "$b" --reps "$reps" \
      --device "$device" --dtype "$dtype" --json --export "$dir/$b" > "$dir/trm-$b-$r.json"
    run_peer "$dir/$b" "$dir/torch-$b-$r.json"
    if [ "$compile" = 1 ]; then
      run_peer "$dir/$b" "$dir/compiled-$b-$r.json" --compile
    fi
  done
  "$py" - "$dir" "$b" "$rounds" "$compile" <<'PY'
import json, sys
d, b, rounds, compile_ = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
load = lambda kind: [json.load(open(f"{d}/{kind}-{b}-{r}.json")) for r in range(1, rounds + 1)]
t = load("trm")
best = lambda runs, key: min(x[key] for x in runs)
e, tr, s = best(t, "eval_step_ms"), best(t, "train_step_ms"), best(t, "single_puzzle_ms")

def row(label, p):
    pe, ptr, ps = best(p, "eval_step_ms"), best(p, "train_step_ms"), best(p, "single_ms")
    print(f"{label:<6} {e:14.1f} {pe:14.1f} {pe/e:7.2f} {tr:14.1f} {ptr:14.1f} {ptr/tr:7.2f} {s:12.1f} {ps:12.1f} {ps/s:7.2f}")

row(b, load("torch"))
if compile_:
    c = [x for x in load("compiled") if x.get("compiled") and x.get("eval_step_ms") is not None]
    if c:
        row(f"{b}c", c)
    else:
        err = next((x.get("compile_error") for x in load("compiled") if x.get("compile_error")), "no compiled timing")
        print(f"{b}c     torch.compile failed: {err[:200]}")
PY
done
