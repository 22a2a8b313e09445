#!/usr/bin/env bash
# Compiles the CUDA prover (sm_90 and sm_80) into $1 (default ../build). Needs nvcc; no GPU is needed to build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../build}"
mkdir -p "$out"
nvcc -std=c++17 -O3 --expt-relaxed-constexpr --threads 0 -Xcompiler -pthread,-O3 \
  -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
  -I"$here/../include" -o "$out/ozk-prover-cuda" "$here/prover_cuda.cu"
echo "build-cuda.sh: built $out/ozk-prover-cuda"
