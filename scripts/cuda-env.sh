#!/bin/bash
# Sets up a CUDA 13.0 build environment for `cargo build --features cuda` (and `nccl`) from
# PyPI wheels, for machines without a system CUDA toolkit, then prints the variables to
# export. See docs/gpu.md.
#
#   cargo fetch
#   eval "$(scripts/cuda-env.sh /tmp/cuda-env)"
#   cargo build --release --features cuda
#
# The default build needs none of this.
set -euo pipefail
root=${1:-/tmp/cuda-env}
mkdir -p "$root" && cd "$root"
[ -x venv/bin/python ] || python3 -m venv venv >&2
# nvcc, its NVVM and CRT pinned to 13.0 together: a newer nvcc emits PTX that CUDA 13.0
# drivers (e.g. 580) refuse.
venv/bin/pip install -q "nvidia-cuda-nvcc==13.0.88" "nvidia-nvvm==13.0.88" "nvidia-cuda-crt==13.0.88" \
  "nvidia-cuda-runtime==13.0.96" "nvidia-cuda-cccl==13.0.85" "nvidia-cublas==13.0.2.14" \
  "nvidia-curand==10.4.0.35" "nvidia-cuda-nvrtc==13.0.88" "nvidia-nccl-cu13==2.30.7" >&2
nv=$(echo "$root"/venv/lib/python3*/site-packages/nvidia)
# candle links libcuda (the driver) directly. Without a driver on the build machine, link
# against a stub whose every entry point returns CUDA_ERROR_STUB_LIBRARY (34); the real
# driver replaces it at run time.
cudarc=$(ls -d ~/.cargo/registry/src/*/cudarc-0.19.* 2>/dev/null | tail -n 1)
[ -n "$cudarc" ] || { echo "run 'cargo fetch' in the repository first (the stub is made from cudarc's sources)" >&2; exit 1; }
mkdir -p stub cudaroot/lib/stubs
{ echo 'int cuGetErrorString(int e, const char **s) { *s = "no NVIDIA driver (stub library)"; return 0; }'
  echo 'int cuGetErrorName(int e, const char **s) { *s = e == 34 ? "CUDA_ERROR_STUB_LIBRARY" : "CUDA_ERROR_UNKNOWN"; return 0; }'
  grep -ohE "^pub unsafe fn cu[A-Za-z0-9_]+" "$cudarc"/src/driver/sys/*.rs | awk '{print $4}' | sort -u \
    | grep -v -x -e cuGetErrorString -e cuGetErrorName | sed 's/.*/int &(void) { return 34; }/'
} > stub/libcuda_stub.c
gcc -shared -fPIC -O1 -Wl,-soname,libcuda.so.1 -o stub/libcuda.so.1 stub/libcuda_stub.c
cp stub/libcuda.so.1 cudaroot/lib/stubs/ && ln -sfn libcuda.so.1 cudaroot/lib/stubs/libcuda.so
# A CUDA root with the unversioned library names the linker looks for.
for l in cudart.so.13 cublas.so.13 cublasLt.so.13 curand.so.10 nvrtc.so.13; do
  ln -sfn "$nv/cu13/lib/lib$l" "cudaroot/lib/lib${l%%.so*}.so"
done
ln -sfn "$nv/nccl/lib/libnccl.so.2" cudaroot/lib/libnccl.so
cat <<VARS
export PATH=$nv/cu13/bin:\$PATH CUDA_HOME=$root/cudaroot CUDA_PATH=$root/cudaroot CUDA_ROOT=$root/cudaroot
export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90} CUDARC_CUDA_VERSION=13000
export CUDA_RUNTIME_LIBS=$nv/cu13/lib:$nv/nccl/lib CUDA_DRIVER_STUB=$root/stub
VARS
