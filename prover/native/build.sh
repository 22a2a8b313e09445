#!/usr/bin/env bash
# Builds the native Groth16 prover into prover/native/build/: ozk-prover (CPU), ozk-native-test (unit tests),
# and, when nvcc is on PATH, the CUDA objects. OZK_PORTABLE=1 builds without -march=native.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
mkdir -p "$out"
CXX="${CXX:-g++}"
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "build.sh: no C++ compiler ($CXX) found; the prover service will use snarkjs" >&2
  exit 1
fi
arch_flags="-march=native"
defs=""
if [ "${OZK_PORTABLE:-0}" = "1" ]; then arch_flags="-march=x86-64-v2"; defs="-DOZK_PORTABLE"; fi
flags="-std=c++17 -O3 $arch_flags $defs -Wall -Wextra -Wno-unused-parameter -pthread -I$here/include"
"$CXX" $flags -o "$out/ozk-prover" "$here/src/main.cpp" &
"$CXX" $flags -o "$out/ozk-native-test" "$here/src/native_test.cpp" &
wait %1 && wait %2
if [ "${OZK_NO_CUDA:-0}" = "1" ]; then
  echo "build.sh: OZK_NO_CUDA=1, skipping the CUDA prover" >&2
elif command -v nvcc >/dev/null 2>&1; then
  "$here/cuda/build-cuda.sh" "$out"
else
  echo "build.sh: nvcc not found, skipping the CUDA prover" >&2
fi
echo "build.sh: built $out/ozk-prover"
