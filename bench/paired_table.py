#!/usr/bin/env python3
"""Prints the paired rows of a Google Benchmark JSON file (bench/common.hpp: paired) as one
table: CPU model, median ratio to the in-place limit, kernel and limit GB/s, time per call.
Used by bench/run_rope_bench.sh and bench/run_alibi_bench.sh; figures of two machines are put
side by side by the CPU line.

    python3 bench/paired_table.py RESULT.json [TITLE]
"""
import json
import re
import sys


def fmt_ns(ns):
    for unit, scale in (("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    data = json.load(open(sys.argv[1]))
    title = sys.argv[2] if len(sys.argv) > 2 else "posenc"
    ctx = data["context"]
    print(f"{title}: CPU {ctx.get('cpu_model', '?')}; posenc arch {ctx.get('posenc_arch', '?')}, "
          f"prefetch {ctx.get('posenc_prefetch', '?')} (automatic); "
          f"{ctx['num_cpus']} cpus @ {ctx['mhz_per_cpu']} MHz")
    print("paired: limit (x *= a over the same bytes) and kernel back to back per iteration; "
          "median of repetitions of the median ratio")
    print(f"{'benchmark':58s} {'vs limit':>9s} {'GB/s':>7s} {'limit GB/s':>11s} {'per call':>10s}")
    for b in data["benchmarks"]:
        if "aggregate_name" in b and b["aggregate_name"] != "median":
            continue
        if "ratio_to_limit" not in b:
            continue
        name = re.sub(r"/(min_time|iterations):[0-9.]+", "", b["run_name"])
        print(f"{name:58s} {b['ratio_to_limit']:8.2f}x {b['kernel_GBps']:7.2f} "
              f"{b['limit_GBps']:11.2f} {fmt_ns(b['kernel_ns']):>10s}")


if __name__ == "__main__":
    main()
