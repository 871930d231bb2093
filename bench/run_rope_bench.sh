#!/usr/bin/env bash
# Run the RoPE benchmark and print one table: GB/s, ratio to the in-place limit (x *= a over
# the same bytes, same binary, same run) and ratio to posenc's scalar reference; then the
# paired table (bench/paired_table.py: CPU model, ratio to the limit timed back to back, time
# per call; the prefetch forced on / off where posenc may prefetch).
#
#   bash bench/run_rope_bench.sh [BUILD_DIR] [extra Google Benchmark flags...]
#
# BUILD_DIR must hold a Release build configured with -DPOSENC_BUILD_BENCHMARKS=ON (add
# -DPOSENC_NATIVE=ON for -march=native); default: build. Pin to one core for stable numbers:
#   taskset -c 1 bash bench/run_rope_bench.sh build --benchmark_repetitions=5
set -euo pipefail
build="${1:-build}"
shift || true
exe="$build/bench/rope_bench"
[[ -x "$exe" ]] || { echo "no $exe: configure with -DPOSENC_BUILD_BENCHMARKS=ON and build rope_bench" >&2; exit 1; }
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
"$exe" --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@" >/dev/null
python3 - "$json" <<'PY'
import json, sys, re
data = json.load(open(sys.argv[1]))
ctx = data["context"]
rows = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name", "mean") != "median" and "aggregate_name" in b:
        continue
    name = re.sub(r"/(min_time|iterations):[0-9.]+", "", b["run_name"])
    if "paired/" in name:
        continue
    rows[name] = b["bytes_per_second"] / 1e9
print(f"posenc rope_bench on {ctx.get('cpu_model', '?')}; posenc arch {ctx.get('posenc_arch', '?')}, {ctx['num_cpus']} cpus @ {ctx['mhz_per_cpu']} MHz (median of repetitions)")
print(f"{'benchmark':46s} {'GB/s':>8s} {'vs in-place':>12s} {'vs scalar':>10s}")
for name, gbs in rows.items():
    kind, *rest = name.split("/")
    if kind in ("inplace_limit", "memcpy"):
        typ, shape = rest
        limit = rows.get(f"inplace_limit/{typ}/{shape}")
        print(f"{name:46s} {gbs:8.2f} {gbs / limit:11.2f}x {'':>10s}")
        continue
    layout, typ, shape = rest
    limit = rows.get(f"inplace_limit/{typ}/{shape}")
    scalar = rows.get(f"scalar_cached/{layout}/{typ}/{shape}")
    print(f"{name:46s} {gbs:8.2f} {gbs / limit:11.2f}x {gbs / scalar:9.2f}x")
PY
echo
python3 "$(dirname "$0")/paired_table.py" "$json" "posenc rope_bench"
