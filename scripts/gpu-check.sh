#!/bin/bash
# Prepares the first GPU run (docs/gpu.md, "The first GPU run") on a machine without a GPU:
# builds the CUDA binary (and, with NCCL=1, a second with NCCL) from PyPI wheels, strips it,
# gathers what the device command needs under target/gpu-run, checks that the tree plus that
# folder fit the device tool's 64 MiB, and prints the device command.
#
#   scripts/gpu-check.sh OFFICIAL_DIR [CUDA_ENV_DIR]
#
# OFFICIAL_DIR is a clone of the official repository
# (github.com/SamsungSAILMontreal/TinyRecursiveModels, commit e7b6871): its models/ and
# utils/ are carried so that bench/official_bench.py can time the official module on the
# same GPU. CUDA_ENV_DIR (default /tmp/cuda-env) is where scripts/cuda-env.sh installs nvcc
# and the CUDA libraries. The build takes about 13 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
official=${1:?usage: scripts/gpu-check.sh OFFICIAL_DIR [CUDA_ENV_DIR]}
env_root=${2:-/tmp/cuda-env}
[ -f "$official/models/recursive_reasoning/trm.py" ] ||
  { echo "$official: not a clone of the official TRM repository (no models/recursive_reasoning/trm.py)" >&2; exit 1; }
limit=$((64 * 1024 * 1024))
out=target/gpu-run

cargo fetch --quiet
eval "$(scripts/cuda-env.sh "$env_root")"
build() { # FEATURES BINARY-NAME
  CARGO_TARGET_DIR=target/cuda-$2 cargo build --release --quiet -p trm --features "$1"
  cp "target/cuda-$2/release/trm" "$out/bin/$2"
  strip "$out/bin/$2"
  # The binary starts and knows its subcommands (no GPU needed for --help).
  LD_LIBRARY_PATH="$CUDA_RUNTIME_LIBS:$CUDA_DRIVER_STUB" "$out/bin/$2" check-reference --help >/dev/null
  # Stripped, the CUDA binary is ~56 MiB (its kernels' PTX); gzip makes it ~15 MiB, which
  # fits the device tool's 64 MiB with the tree. scripts/gpu-run.sh unpacks it.
  gzip -9 -f "$out/bin/$2"
}
rm -rf "$out" && mkdir -p "$out/bin" "$out/official"
build cuda trm-cuda
[ "${NCCL:-0}" = 1 ] && build cuda,nccl trm-cuda-nccl
cp -r "$official/models" "$official/utils" "$official/LICENSE" "$out/official/"
find "$out/official" -name __pycache__ -prune -exec rm -rf {} +

# The device tool carries the working tree (tracked and untracked, not ignored) plus $out.
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
carried=$(du -sb "$out" | cut -f1)
total=$((tree + carried))
printf 'tree %d MiB + %s %d MiB = %d MiB of %d MiB\n' $((tree >> 20)) "$out" $((carried >> 20)) $((total >> 20)) $((limit >> 20))
[ "$total" -le "$limit" ] || { echo "too large for the device tool: drop the NCCL binary or untracked files" >&2; exit 1; }
bash -n scripts/gpu-run.sh

cat <<CMD
Ready. The device command (one call, at most 8 minutes; it writes its figures under \$OUT):
  run  command: bash scripts/gpu-run.sh
       carry:   ["$out"]
       timeout_s: 480
Then record the figures in docs/gpu.md and docs/benchmarks.md.
CMD
