#!/usr/bin/env bash
# Runs the commands of README.md ("Two commands", "Common tasks" and the two examples of
# "Watching the recursion") in a temporary folder, on small data, and fails at the first one
# that fails.
#
#   scripts/readme-commands.sh              uses target/release/trm (cargo build --release)
#   TRM=path/to/trm scripts/readme-commands.sh
#   KEEP=1 scripts/readme-commands.sh       keeps the temporary folder and prints its path
#
# Each `run` line is the README's as written, run with the built binary for `trm` and
# `cargo run --release --`. Where the README's line would take long (a full training run,
# thousands of puzzles) the same command gets extra flags or smaller counts; the comment
# above it names them and says why. Files the README assumes the reader has (a puzzle
# file, a maze file, an ARC task, ARC-AGI's data folders, trained runs) are made first by
# `prep` lines, from the repository's own fixtures, under the names the README uses.
# `cargo test` itself is not run (it runs this script: crates/trm/tests/readme_commands.rs).
# 41 s on two cores (about 100 s with a build running beside it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRM=${TRM:-$ROOT/target/release/trm}
[ -x "$TRM" ] || {
    echo "no trm binary at $TRM: run cargo build --release -p trm, or set TRM" >&2
    exit 2
}
TRM=$(cd "$(dirname "$TRM")" && pwd)/$(basename "$TRM")
WORK=$(mktemp -d -t trm-readme.XXXXXX)
if [ -n "${KEEP:-}" ]; then
    echo "working in $WORK (kept)"
else
    trap 'rm -rf "$WORK"' EXIT
fi
cd "$WORK"

FIXTURES=$ROOT/crates/trm/tests/fixtures
ARC_FIXTURES=$ROOT/crates/trm-data/tests/fixtures/arc-agi-1-evaluation
START=$SECONDS
COUNT=0

trm() { "$TRM" "$@"; }
# run CMD...: prints a README command line, runs it, prints its time.
run() {
    local start=$SECONDS
    printf '\n$ %s\n' "$*"
    "$@"
    COUNT=$((COUNT + 1))
    printf '[%ss]\n' $((SECONDS - start))
}
# prep CMD...: the same for a command that only makes what a README command needs.
prep() {
    local start=$SECONDS
    printf '\n(prep) $ %s\n' "$*"
    "$@"
    printf '[%ss]\n' $((SECONDS - start))
}
skip() { printf '\nskipped: %s\n' "$*"; }
# written FILE...: fails unless the commands before wrote every FILE the README promises.
written() {
    local f
    for f in "$@"; do
        [ -s "$f" ] || {
            echo "error: $f was not written" >&2
            exit 1
        }
    done
}

echo "== Two commands"
# `cargo run --release -- demo`, with the binary cargo builds. Added: --set epochs=2 --set
# eval_interval=2 --set data.generate.test=100 (the preset's 64 epochs take about 3 minutes,
# and it evaluates 500 held-out puzzles).
run trm demo --set epochs=2 --set eval_interval=2 --set data.generate.test=100
written runs/demo/config.toml runs/demo/metrics.jsonl runs/demo/model.safetensors
skip "cargo test --release --workspace (the test suite; it runs this script when TRM_README_COMMANDS=1)"

echo "== Common tasks: datasets"
run trm data sudoku --out data/s9 --generate-train 1000 --generate-test 200 --aug 100 --seed 0
# my-4x4.csv: the repository's 4x4 fixture under the README's name.
cp "$FIXTURES/sudoku4.csv" my-4x4.csv
run trm data sudoku --out data/s4 --size 4 --test-csv my-4x4.csv --generate-train 2000
run trm data inspect data/s9

echo "== Common tasks: training"
# Added: --set epochs=2 --set eval_interval=1 --set data.generate.test=100 (the preset's 64
# epochs take about 3 minutes; 100 held-out puzzles instead of 500 keep the evaluations below
# short) and --stop-after 10 of its 15 steps, so that `trm train --resume runs/s4` below has
# steps left to continue.
run trm train --preset sudoku4 --out runs/s4 --set epochs=2 --set eval_interval=1 \
    --set data.generate.test=100 --stop-after 10
# Added: --set epochs=1 and 640 fresh puzzles, 50 held out (the preset trains 22 epochs of
# 12800 puzzles, about 20 minutes).
run trm train --preset sudoku9-cpu --out runs/s9 --set data.generate.min_givens=26 \
    --set epochs=1 --set data.generate.train=640 --set data.generate.test=50
# data/sudoku-extreme-1k-aug-1000 stands for the official dataset (not shipped): 256
# generated 9x9 puzzles (a batch of 256 needs 256 puzzles) and the 12 of the test fixture.
prep trm data sudoku --out data/sudoku-extreme-1k-aug-1000 --generate-train 256 \
    --test-csv "$FIXTURES/sudoku9.csv"
# Added: --set epochs=1 --set eval_interval=1 and a network shrunk to hidden size 64, one
# H and one L cycle and 2 supervision steps (at the official sizes one step of batch 256
# takes about 40 s on two cores).
run trm train --preset sudoku-mlp --data data/sudoku-extreme-1k-aug-1000 --set global_batch_size=256 \
    --set epochs=1 --set eval_interval=1 --set hidden_size=64 \
    --set puzzle_emb_ndim=64 --set H_cycles=1 --set L_cycles=1 --set halt_max_steps=2
run trm train --resume runs/s4
written runs/s4/config.toml runs/s4/metrics.jsonl runs/s4/model.safetensors
run trm train --preset sudoku4 --print-config

echo "== Maze and ARC datasets (before the evaluation, which uses them)"
# Smaller: --generate-train 20 --generate-test 20 for the README's 1000 and 1000 (2000
# 30x30 mazes take about 30 s on two cores).
run trm data maze --out data/maze --generate-train 20 --generate-test 20 --size 30 --seed 0
# ARC-AGI/data/{training,evaluation}: the repository's 400 ARC-AGI-1 evaluation tasks, the
# first 200 as training, the others as evaluation (ARC-AGI itself is not shipped).
mkdir -p ARC-AGI/data/training ARC-AGI/data/evaluation
mapfile -t ARC_TASKS < <(find "$ARC_FIXTURES" -name '*.json' | sort)
cp "${ARC_TASKS[@]:0:200}" ARC-AGI/data/training/
cp "${ARC_TASKS[@]:200}" ARC-AGI/data/evaluation/
# Smaller: --aug 3 for the README's 1000; added: --max-grid 6 --canvas 7, the 13 tasks whose
# grids are at most 6x6, on a 7x7 canvas (1000 augmentations of 400 tasks on the official
# 30x30 canvas take minutes to build and hours to train on).
run trm data arc --out data/arc1 --tasks training=ARC-AGI/data/training \
    evaluation=ARC-AGI/data/evaluation --test-set evaluation --aug 3 --max-grid 6 --canvas 7
# runs/arc, runs/maze: the models the README's ARC and maze commands take. Small: 2 epochs
# of arc-cpu (9000) at batch 8 (13 tasks are 13 groups, fewer than its 32), 1 epoch of 128
# mazes (the preset: 192 epochs of 2000).
prep trm train --preset arc-cpu --data data/arc1 --out runs/arc --set epochs=2 --set eval_interval=2 \
    --set global_batch_size=8
prep trm train --preset maze-cpu --out runs/maze --set epochs=1 --set eval_interval=1 \
    --set data.generate.train=128 --set data.generate.test=20

echo "== Common tasks: evaluation"
run trm eval --model runs/s4 --json
run trm eval --model runs/s4 --max-steps 32 --per-step
run trm eval --model runs/arc --data data/arc1
written runs/arc/submission.json

echo "== Common tasks: solving"
run trm solve sudoku --model runs/s4 --steps 1...2...3...4...
# mazes.txt (three) and maze.csv (the first of them): 9x9 mazes, the size of runs/maze, in
# the official CSV layout.
prep trm data maze --out data/maze9 --generate-test 3 --size 9 --save-csv maze9-csv
cp maze9-csv/test.csv mazes.txt
head -n 2 maze9-csv/test.csv >maze.csv
run trm solve maze --model runs/maze mazes.txt --picture maze.png
written maze-1.png maze-2.png maze-3.png
# task.json: an evaluation task of data/arc1 (its grids fit the 7x7 canvas of runs/arc).
cp ARC-AGI/data/evaluation/be03b35f.json task.json
run trm solve arc --model runs/arc task.json

echo "== Common tasks: your own puzzles, fine-tuning"
# examples/: the repository's, so that the paths are as written.
cp -r "$ROOT/examples" examples
run trm data custom --task examples/tasks/latin/task.toml --train examples/tasks/latin/train.csv --test examples/tasks/latin/test.csv --out data/latin
# Added: --set epochs=1 --set eval_interval=1 --set eval_max_examples=100 (24 epochs, each
# evaluation on 500 test pairs).
run trm train --config examples/tasks/latin/train.toml --data data/latin --out runs/latin \
    --set epochs=1 --set eval_interval=1 --set eval_max_examples=100
# Added: --set epochs=1 --set eval_max_examples=50 (22 epochs, each evaluation on 200
# puzzles).
run trm train --preset sudoku9-cpu --data data/s9 --init-from runs/s9 --out runs/s9-ft \
    --set epochs=1 --set eval_max_examples=50

echo "== Common tasks: speed"
# Added: --preset sudoku4 --reps 1 (the default, sudoku-mlp at the official sizes, takes
# about a minute at batch 64 on two cores).
run trm bench --batch-size 1,16,64 --preset sudoku4 --reps 1

echo "== Common tasks: pictures"
run trm render sudoku 1...2...3...4... --out sudoku.png
# maze.txt: the first maze of the repository's maze fixture (6x6; the file holds two).
head -n 6 "$FIXTURES/maze6.txt" >maze.txt
run trm render maze maze.txt --solve --out maze.png
run trm render arc task.json --out task.png
run trm plot runs/s4
written sudoku.png maze.png task.png runs/s4/curves.png

echo "== Watching the recursion (on the small models above)"
run trm solve sudoku --model runs/s9 --steps --halt --classic '.....41....12....5...5.3.7.5.9....8.84..7165..7......4....4..18..7..53.2284.395..'
run trm solve maze --model runs/maze maze.csv --steps --max-steps 2 --picture maze-steps.png
written maze-steps.png

printf '\nall %s README commands ran in %ss\n' "$COUNT" $((SECONDS - START))
