#!/bin/bash
# Trains `trm train` and the official TRM code, one after the other, on the same data with the
# same settings, prints their curves side by side, and checks checkpoints both ways:
#   - the official run's last checkpoint, evaluated by `trm eval --checkpoint`, against the
#     official evaluation of the same weights (its last evaluation line);
#   - trm's model.safetensors, loaded into the official model (pretrain.py load_checkpoint) and
#     evaluated by the official code, against `trm eval --model`.
#
#   bench/parity.sh OFFICIAL PRESET [--set KEY=VALUE ...]
#   e.g. bench/parity.sh ~/TinyRecursiveModels sudoku4
#        bench/parity.sh ~/TinyRecursiveModels sudoku9-cpu --set epochs=4
#
# OFFICIAL is a clone of https://github.com/SamsungSAILMontreal/TinyRecursiveModels at commit
# e7b6871; it is copied to OUT/official-code and patched to run on a CPU (bench/parity.py
# patch). Both sides train on the run's dataset (`--data DIR`, or the one trm generates in
# OUT/trm/data for presets that generate their own): the official trainer
# reads a dataset folder and has no online mode, so online presets are run with
# data.generate.online=false (a fixed set), and maze presets with path_labels=dataset. The
# official side imports bench/parity/ (a CPU Adam-atan2 and a wandb that writes
# OUT/official/metrics.jsonl). A benchmark, not a test: minutes to hours, run it on a quiet
# machine. Environment:
#   PYTHON  python with torch, safetensors, einops, tqdm, coolname, pydantic, argdantic,
#           omegaconf, hydra-core [python3]
#   TRM     the trm binary [target/release/trm]
#   OUT     output folder [runs/parity-PRESET]; replaced
set -euo pipefail
official=${1:?usage: bench/parity.sh OFFICIAL PRESET [--set KEY=VALUE ...]}
preset=${2:?usage: bench/parity.sh OFFICIAL PRESET [--set KEY=VALUE ...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
trm=$(realpath "${TRM:-target/release/trm}")
out=${OUT:-runs/parity-$preset}
[ -f "$official/pretrain.py" ] || { echo "parity.sh: $official has no pretrain.py (give a clone of the official repository)" >&2; exit 2; }
[ -x "$trm" ] || { echo "parity.sh: no trm binary at $trm (cargo build --release, or set TRM)" >&2; exit 2; }
rm -rf "$out"; mkdir -p "$out"; out=$(realpath "$out")
peak_rss() {  # peak_rss NAME COMMAND...: runs COMMAND; its peak resident memory (KB) goes to OUT/rss-NAME
  local name=$1; shift
  if [ -x /usr/bin/time ]; then /usr/bin/time -o "$out/rss-$name" -f "%M" "$@"; else "$@"; fi
}

sets=(--set path_labels=dataset)
if "$trm" train --preset "$preset" --print-config "$@" | grep -q '^online = true'; then
  sets+=(--set data.generate.online=false)
fi
echo "== trm train --preset $preset ${sets[*]} $*" >&2
peak_rss trm "$trm" train --preset "$preset" --out "$out/trm" "${sets[@]}" "$@"
data=$("$py" "$here/parity.py" data-dir "$out/trm")
[ -f "$data/train/dataset.json" ] || { echo "parity.sh: no dataset at $data" >&2; exit 1; }

"$py" "$here/parity.py" patch "$official" "$out/official-code"
mapfile -t overrides < <("$py" "$here/parity.py" hydra "$out/trm/config.toml" "$data")
printf '%s\n' "${overrides[@]}" > "$out/overrides.txt"
official_train() {  # official_train OUT_DIR [extra overrides...]
  local dir=$1; shift
  mkdir -p "$dir"; rm -f "$dir/metrics.jsonl"
  (cd "$out/official-code" && DISABLE_COMPILE=1 WANDB_MODE=disabled METRICS_OUT="$dir/metrics.jsonl" \
     PYTHONPATH="$here/parity" peak_rss "$(basename "$dir")" "$py" pretrain.py "${overrides[@]}" +project_name=parity \
     +run_name="$(basename "$dir")" +checkpoint_path="$dir/ckpt" "$@") > "$dir/log.txt" 2>&1 \
    || { tail -30 "$dir/log.txt" >&2; echo "parity.sh: the official run failed, log in $dir/log.txt" >&2; exit 1; }
}
echo "== official pretrain.py, same settings (overrides in $out/overrides.txt)" >&2
official_train "$out/official" checkpoint_every_eval=True

echo; "$py" "$here/parity.py" compare "$out/trm" "$out/official"
if [ -f "$out/rss-trm" ] && [ -f "$out/rss-official" ]; then
  echo "Peak resident memory of the training process: trm $(( $(cat "$out/rss-trm") / 1024 )) MB, official $(( $(cat "$out/rss-official") / 1024 )) MB"
fi

echo; echo "## Checkpoints both ways (test split)"; echo
"$py" "$here/parity.py" export "$out/trm/model.safetensors" "$out/trm-model.pt"
# Evaluation only: lr 0 for both optimizers and no EMA leave the loaded weights as they are
# through the one epoch the official loop trains before it evaluates.
official_train "$out/official-eval-of-trm" +load_checkpoint="$out/trm-model.pt" lr=0 puzzle_emb_lr=0 \
  ema=False epochs=1 eval_interval=1 min_eval_interval=0
"$py" "$here/parity.py" checkpoints "$out" "$trm" "$data"
