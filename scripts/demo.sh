#!/usr/bin/env bash
# Build the demo (RoPE over a prefill + decode loop with a KV cache) and run it.
#
#   bash scripts/demo.sh [arguments for the demo...]
#
# Environment: BUILD_DIR (default: build), CMAKE_ARGS, CXX, JOBS as in scripts/test.sh.
# Installs the Debian packages it needs when run as root; otherwise prints the apt-get line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

packages=(cmake g++ make ninja-build libxsimd-dev libeigen3-dev)
if [[ "${CXX:-}" == *clang* ]]; then
  packages+=(clang)
fi
posenc_need_packages "${packages[@]}"

cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
jobs="$(posenc_jobs)"
read -r -a cmake_args <<<"${CMAKE_ARGS:-}"

if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  # A fresh build dir: the demo alone needs no GoogleTest. scripts/test.sh turns tests on later.
  mapfile -t gen < <(posenc_generator_args "$BUILD_DIR")
  cmake -S . -B "$BUILD_DIR" "${gen[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DPOSENC_BUILD_TESTS=OFF \
    -DPOSENC_BUILD_EXAMPLES=ON \
    -DPOSENC_NATIVE=ON \
    "${cmake_args[@]}"
else
  cmake -S . -B "$BUILD_DIR" -DPOSENC_BUILD_EXAMPLES=ON "${cmake_args[@]}"
fi
cmake --build "$BUILD_DIR" -j "$jobs" --target demo

exe="$BUILD_DIR/examples/demo"
echo "== $exe =="
"$exe" "$@"
