#!/usr/bin/env bash
# posenc fuzzing (issue 16): builds the libFuzzer targets with clang + ASan + UBSan and runs each
# for a bounded time on a scratch copy of the seed corpus, after replaying every regression input.
#
#   fuzz/run.sh [SECONDS]          SECONDS per target (default: $FUZZ_SECONDS, else 60)
#   FUZZ_TARGETS="hf_config"       a subset (default: hf_config inspect)
#   POSENC_FUZZ_DIR=dir            build/scratch directory (default: build-fuzz)
#   FUZZ_CXX=clang++-14            the compiler (default: clang++-14, else clang++)
#
# Needs Debian's clang and libclang-rt-14-dev (the libFuzzer / sanitizer runtimes) and
# nlohmann-json3-dev; .ci/run installs them. Longer runs on demand: fuzz/run.sh 3600.
# A crash leaves its input in $POSENC_FUZZ_DIR/artifacts-<target>/: fix the bug, then commit the
# input to fuzz/regressions/<target>/ (replayed here and by tests/hf_config_fuzz_corpus_test.cpp
# in every CI configuration).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${POSENC_FUZZ_DIR:-$ROOT/build-fuzz}"
SECS="${1:-${FUZZ_SECONDS:-60}}"
TARGETS="${FUZZ_TARGETS:-hf_config inspect}"
CXX="${FUZZ_CXX:-}"
if [[ -z "$CXX" ]]; then
  for c in clang++-14 clang++; do
    if command -v "$c" >/dev/null 2>&1; then
      CXX="$c"
      break
    fi
  done
fi
if [[ -z "$CXX" ]]; then
  echo "fuzz: no clang++ found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
mkdir -p "$OUT"
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -I"$ROOT/include")
echo "fuzz: $("$CXX" --version | head -1); targets: $TARGETS; ${SECS}s each; dir $OUT"

# Build (in parallel: at most 2 jobs).
pids=()
for t in $TARGETS; do
  "$CXX" "${FLAGS[@]}" "$ROOT/fuzz/${t}_fuzz.cpp" -o "$OUT/${t}_fuzz" >"$OUT/${t}_build.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
if ((rc != 0)); then
  cat "$OUT"/*_build.log >&2
  echo "fuzz: build failed" >&2
  exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TMPDIR="$OUT"  # the inspect target writes its temporary config file there
# fuzz_one TARGET: replay the target's regression inputs, then fuzz it SECS seconds.
fuzz_one() {
  local t="$1"
  local exe="$OUT/${t}_fuzz"
  local art="$OUT/artifacts-$t/"
  local work="$OUT/corpus-$t"
  mkdir -p "$art" "$work"
  local regs=("$ROOT/fuzz/regressions/$t"/*)
  echo "---- $t: replaying ${#regs[@]} regression inputs"
  if ! "$exe" -artifact_prefix="$art" -timeout=10 -rss_limit_mb=2048 "${regs[@]}"; then
    echo "FAILED: $t regression input (artifacts in $art)"
    return 1
  fi
  echo "---- $t: fuzzing ${SECS}s"
  if ! "$exe" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$ROOT/fuzz/hf_config.dict" -artifact_prefix="$art" -print_final_stats=1 \
    "$work" "$ROOT/fuzz/corpus/$t" "$ROOT/fuzz/regressions/$t"; then
    echo "FAILED: $t found a crash; input in $art (commit it to fuzz/regressions/$t/ with the fix)"
    return 1
  fi
}

# The targets run side by side (each fuzzer is one process on one core, SECS seconds each),
# at most $JOBS (default: the cores) at a time; each one's output is printed when it ends.
status=0
max_jobs="${JOBS:-$(nproc 2>/dev/null || echo 1)}"
running=()
names=()
flush() {  # wait for the oldest running target, print its log
  local rc=0
  wait "${running[0]}" || rc=1
  cat "$OUT/${names[0]}_fuzz.log"
  ((rc == 0)) || status=1
  running=("${running[@]:1}")
  names=("${names[@]:1}")
}
for t in $TARGETS; do
  ((${#running[@]} < max_jobs)) || flush
  fuzz_one "$t" >"$OUT/${t}_fuzz.log" 2>&1 &
  running+=($!)
  names+=("$t")
done
while ((${#running[@]} > 0)); do flush; done
exit "$status"
