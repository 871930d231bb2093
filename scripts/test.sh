#!/usr/bin/env bash
# Build posenc's test suite and run it (Release, -march=native, all tests incl. packaging).
#
#   bash scripts/test.sh [extra cmake -D options...]
#
# Environment:
#   BUILD_DIR   build directory (default: build)
#   CMAKE_ARGS  extra configure options, split on spaces (the arguments above come after them)
#   CXX         compiler for a new build directory (CMake reads it on the first configure)
#   JOBS        parallel build/test jobs (default: nproc)
#   CTEST_ARGS  extra ctest options, split on spaces
# Installs the Debian packages it needs when run as root; otherwise prints the apt-get line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

packages=(cmake g++ make ninja-build libgtest-dev libxsimd-dev libeigen3-dev nlohmann-json3-dev)
for arg in ${CMAKE_ARGS:-} "$@"; do
  case "$arg" in
    -DPOSENC_BUILD_BENCHMARKS*=[Oo][Nn] | -DPOSENC_BUILD_BENCHMARKS*=1 | -DPOSENC_BUILD_BENCHMARKS*=[Tt][Rr][Uu][Ee])
      packages+=(libbenchmark-dev) ;;
  esac
done
if [[ "${CXX:-}" == *clang* ]]; then
  packages+=(clang)
fi
posenc_need_packages "${packages[@]}"

cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
jobs="$(posenc_jobs)"
mapfile -t gen < <(posenc_generator_args "$BUILD_DIR")
read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
read -r -a ctest_args <<<"${CTEST_ARGS:-}"

echo "== configure ($BUILD_DIR) =="
cmake -S . -B "$BUILD_DIR" "${gen[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DPOSENC_BUILD_TESTS=ON \
  -DPOSENC_NATIVE=ON \
  "${cmake_args[@]}" "$@"

echo "== build ($jobs jobs) =="
cmake --build "$BUILD_DIR" -j "$jobs"

echo "== test =="
cd "$BUILD_DIR"
ctest --output-on-failure -j "$jobs" "${ctest_args[@]}"
