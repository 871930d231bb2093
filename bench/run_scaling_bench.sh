#!/usr/bin/env bash
# Run the scaling benchmark and print one table: GB/s (median of repetitions, CPU time), ratio
# to the unscaled rope on the same path, and ratio to the in-place limit (x *= a over the same
# bytes, same binary, same run). Benchmarks run in random interleaved order so that machine
# drift hits every variant alike; the pair_* rows time unscaled and scaled back to back in every
# iteration (the most robust comparison on a loaded machine).
#
#   bash bench/run_scaling_bench.sh [BUILD_DIR] [extra Google Benchmark flags...]
#
# BUILD_DIR: a Release build configured with -DPOSENC_BUILD_BENCHMARKS=ON (and -DPOSENC_NATIVE=ON
# for -march=native); default: build.
set -euo pipefail
build="${1:-build}"
shift || true
exe="$build/bench/scaling_bench"
[[ -x "$exe" ]] || { echo "no $exe: configure with -DPOSENC_BUILD_BENCHMARKS=ON and build scaling_bench" >&2; exit 1; }
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
"$exe" --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json \
  --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true "$@" >/dev/null
python3 - "$json" <<'PY'
import json, sys, re
data = json.load(open(sys.argv[1]))
ctx = data["context"]
rows, pairs = {}, {}
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = re.sub(r"/min_time:[0-9.]+", "", b["run_name"])
    if name.startswith("pair_"):
        pairs[name] = (b["ratio"], b["unscaled_GBps"], b["scaled_GBps"])
    else:
        rows[name] = b["bytes_per_second"] / 1e9
print(f"posenc scaling_bench on {ctx.get('posenc_arch', '?')}, {ctx['num_cpus']} cpus @ "
      f"{ctx['mhz_per_cpu']} MHz, load {ctx.get('load_avg', '?')} (median of repetitions)")
limit = rows.get("inplace_limit/4096x32x128/f32")
if limit:
    print(f"{'benchmark':42s} {'GB/s':>7s} {'vs unscaled':>12s} {'vs in-place':>12s}")
    print(f"{'inplace_limit/4096x32x128/f32':42s} {limit:7.2f} {'':>12s} {1.0:11.2f}x")
for path in ("rope_cached", "rope_fly"):
    base = rows.get(f"{path}/none/4096x32x128/f32")
    if not base:
        continue
    for name, gbs in sorted(rows.items()):
        if name.startswith(path + "/"):
            vs_limit = f"{gbs / limit:11.2f}x" if limit else ""
            print(f"{name:42s} {gbs:7.2f} {gbs / base:11.3f}x {vs_limit}")
print()
print("paired (unscaled and scaled back to back in each iteration; median per-iteration ratio)")
print(f"{'benchmark':42s} {'scaled/unscaled speed':>22s} {'GB/s unscaled':>14s} {'GB/s scaled':>12s}")
for name, (ratio, gu, gs) in sorted(pairs.items()):
    print(f"{name:42s} {ratio:21.3f}x {gu:14.2f} {gs:12.2f}")
PY
