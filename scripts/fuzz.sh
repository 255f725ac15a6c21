#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and prints a table
# (target, runs, crashes). Crashing inputs are kept in fuzz/artifacts/<target>/; the seed
# corpora come from the repository's fixtures (fuzz/corpus/<target>/, kept between runs).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default 60 s, every target
#
# Needs a nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install cargo-fuzz`). A target restarts after a crash until its time is used
# (at most 20 restarts), so one run can report several crashes. Exit status 1 if any crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(sudoku maze arc npy weights config checkpoint custom)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

cargo +nightly fuzz --version >/dev/null 2>&1 || {
    echo "cargo-fuzz is missing: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
    exit 2
}

# Seeds: a mode byte (see each target's header) followed by a fixture.
seed() { # seed TARGET NAME PREFIX_PRINTF_FORMAT [FILE]
    local dir="fuzz/corpus/$1"
    mkdir -p "$dir"
    { printf "$3"; if [ -n "${4:-}" ]; then head -c 3000 "$4"; fi; } >"$dir/$2"
}
fx=crates/trm/tests/fixtures
for f in "$fx"/sudoku4.csv "$fx"/sudoku9_bare.txt "$fx"/sudoku9.csv "$fx"/sudoku4_bare.txt; do
    [ -f "$f" ] && seed sudoku "$(basename "$f")" "" "$f"
done
printf 'S  #\n## #\nG   \n' >/tmp/trm-fuzz-maze.txt
seed maze lines '\000\000\000' /tmp/trm-fuzz-maze.txt
seed maze flat '\001\003\004S  ### #G   ' ""
seed maze csv '\002\000\000source,question,answer,rating\nsrc,S #G,So#G,3\nsrc,G  S,GooS,4\n' ""
n=0
for f in crates/trm-data/tests/fixtures/arc-agi-1-evaluation/*.json; do
    seed arc "task$n" '\000' "$f"
    n=$((n + 1)); [ $n -ge 4 ] && break
done
for which in 0 1 2 3 4 5 6; do
    for variant in 0 1 2 3 7 13; do
        seed npy "edit-$which-$variant" "\\00$which\\001\\0$(printf '%02o' $variant)" ""
    done
done
for mode in 1 2; do seed weights "template-$mode" "\\00$mode\\000" ""; done
seed checkpoint template '\001' ""
seed custom latin-csv '\001\000' examples/tasks/latin/test.csv
seed custom task-and-csv '\000\377' examples/tasks/latin/task.toml
seed checkpoint structured '\002\002\000\000\000' ""
if [ -x target/release/trm ]; then
    for preset in sudoku4 sudoku9-cpu sudoku-mlp arc1 hrm-sudoku; do
        target/release/trm train --preset "$preset" --print-config >/tmp/trm-fuzz-config.toml 2>/dev/null &&
            seed config "$preset" '\000' /tmp/trm-fuzz-config.toml
    done
fi
seed config overrides '\001lr=3e-4\narch.hidden_size=32\nema=false\n' ""
seed config official '\002{"H_cycles": 3, "L_cycles": 6, "hidden_size": 512, "num_heads": 8, "expansion": 4, "pos_encodings": "rope", "halt_max_steps": 16, "halt_exploration_prob": 0.1, "L_layers": 2}' ""

echo "building fuzz targets (nightly, address sanitizer)..." >&2
cargo +nightly fuzz build --debug-assertions >&2

results=()
any_crash=0
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/artifacts/$t"
    runs=0 crashes=0 restarts=0
    start=$(date +%s)
    while :; do
        left=$((SECONDS_PER_TARGET - ($(date +%s) - start)))
        [ $left -gt 0 ] && [ $restarts -lt 20 ] || break
        log=$(mktemp)
        set +e
        cargo +nightly fuzz run --debug-assertions "$t" -- -max_total_time=$left -print_final_stats=1 -timeout=20 \
            -rss_limit_mb=4096 >"$log" 2>&1
        status=$?
        set -e
        r=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
        runs=$((runs + ${r:-0}))
        if [ $status -ne 0 ]; then
            crashes=$((crashes + 1))
            any_crash=1
            echo "== $t: crash (exit $status) ==" >&2
            grep -E 'panicked at|ERROR: |SUMMARY|Test unit written to' "$log" | head -8 >&2 || true
        fi
        rm -f "$log"
        restarts=$((restarts + 1))
    done
    results+=("$(printf '%-11s %12s %8s %8ss' "$t" "$runs" "$crashes" "$(($(date +%s) - start))")")
done

printf '%-11s %12s %8s %9s\n' target runs crashes time
for line in "${results[@]}"; do echo "$line"; done
echo "crashing inputs: fuzz/artifacts/<target>/ (replay: cargo +nightly fuzz run <target> <file>)"
exit $any_crash
