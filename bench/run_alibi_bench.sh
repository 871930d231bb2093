#!/usr/bin/env bash
# Run the ALiBi paired benchmarks and print one table: CPU model, ratio to the in-place limit
# (x *= a over the same bytes, timed back to back with the bias), GB/s and time per call, for
# 64–512 KiB tiles (all keys visible) and a 128 MiB pass in 128 × 128 tiles, with posenc's
# prefetch automatic (the per-core default, posenc/tuning.hpp) and forced on / off.
#
#   bash bench/run_alibi_bench.sh [BUILD_DIR] [extra Google Benchmark flags...]
#
# BUILD_DIR must hold a Release build configured with -DPOSENC_BUILD_BENCHMARKS=ON (add
# -DPOSENC_NATIVE=ON for -march=native); default: build. Pin to one core:
#   taskset -c 1 bash bench/run_alibi_bench.sh build --benchmark_repetitions=5
set -euo pipefail
build="${1:-build}"
shift || true
exe="$build/bench/alibi_bench"
[[ -x "$exe" ]] || { echo "no $exe: configure with -DPOSENC_BUILD_BENCHMARKS=ON and build alibi_bench" >&2; exit 1; }
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
"$exe" --benchmark_filter='paired' --benchmark_format=json --benchmark_out="$json" \
  --benchmark_out_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  "$@" >/dev/null
python3 "$(dirname "$0")/paired_table.py" "$json" "posenc alibi_bench"
