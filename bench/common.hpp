// What every posenc benchmark shares: cache-line-aligned buffers, the deterministic fill, the
// in-place yardstick and the bytes/items counters.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_BENCH_COMMON_HPP
#define POSENC_BENCH_COMMON_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/config.hpp"
#include "posenc/detail/aligned.hpp"
#include "posenc/storage.hpp"
#include "posenc/tuning.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>

#include "posenc/types.hpp"
#endif

namespace posenc_bench {

// Buffers start on a cache line, as an engine's tensors and logits tiles do (malloc returns
// 16-byte alignment, which splits every 64-byte AVX-512 access across two lines and measures
// the allocator rather than the kernel). Same bytes for the kernels and their yardsticks; the
// allocator is the one rope_cache uses for its table.
template <class T>
using vector = posenc::detail::aligned_vector<T>;

/// The deterministic input of every benchmark: element i in [−1, 1), no structure a kernel
/// could exploit.
inline float pattern(std::size_t i) {
  return static_cast<float>((i * 2654435761u) % 1000u) / 500.0f - 1.0f;
}

/// n elements of storage type T (float, double, bfloat16_t, float16_t) holding pattern(i + salt),
/// converted by the library's conversion, in a cache-line-aligned buffer.
template <class T>
vector<T> make_data(std::size_t n, std::size_t salt = 0) {
  vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float f = pattern(i + salt);
    if constexpr (std::is_same<T, posenc::bfloat16_t>::value) {
      v[i] = posenc::to_bfloat16(f);
    } else if constexpr (std::is_same<T, posenc::float16_t>::value) {
      v[i] = posenc::to_float16(f);
    } else {
      v[i] = static_cast<T>(f);
    }
  }
  return v;
}

/// CI's smoke run (`POSENC_BENCH_SMOKE` set, see .ci/run): benchmarks then skip their own
/// MinTime(...) (which would override --benchmark_min_time) and their largest shapes.
inline bool smoke() { return std::getenv("POSENC_BENCH_SMOKE") != nullptr; }

/// bytes/s and items/s of a benchmark that processed `bytes` and `elems` per iteration.
inline void finish(benchmark::State& st, std::size_t bytes, std::size_t elems) {
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * bytes));
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * elems));
}

/// The in-place limit: x *= a with the widest registers of the default architecture, unrolled
/// 4× — as fast as an in-place pass over memory can go (plain loops get 256-bit registers from
/// g++ on AVX-512 machines, which would flatter every ratio).
inline void scale_in_place(float* p, std::size_t n, float a) {
  std::size_t i = 0;
#if POSENC_HAS_XSIMD
  using B = xsimd::batch<float, posenc::default_arch>;
  constexpr std::size_t N = B::size;
  const B av(a);
  for (; i + 4 * N <= n; i += 4 * N) {
    const B x0 = B::load_unaligned(p + i) * av, x1 = B::load_unaligned(p + i + N) * av;
    const B x2 = B::load_unaligned(p + i + 2 * N) * av, x3 = B::load_unaligned(p + i + 3 * N) * av;
    x0.store_unaligned(p + i);
    x1.store_unaligned(p + i + N);
    x2.store_unaligned(p + i + 2 * N);
    x3.store_unaligned(p + i + 3 * N);
  }
#endif
  for (; i < n; ++i) p[i] *= a;
}

/// Median of v (upper median for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// The in-place limit and a kernel over the same bytes, timed back to back in every iteration
/// (order alternating), reporting the median of the per-iteration ratios. On a VM whose
/// L3/DRAM bandwidth drifts by ±10 % between benchmarks, the ratio of two separate benchmarks
/// inherits that drift; the paired ratio mostly cancels it. limit() and kernel() each run
/// `reps` calls (short calls are timed in batches, so that the clock's overhead does not
/// count). Counters: ratio_to_limit (median), kernel_GBps and limit_GBps over `bytes` per
/// call, and kernel_ns (median time of one call).
template <class Limit, class Kernel>
void paired(benchmark::State& st, int reps, double bytes, const Limit& limit,
            const Kernel& kernel) {
  using clock = std::chrono::steady_clock;
  const auto time = [reps](const auto& f) {
    const auto t0 = clock::now();
    for (int i = 0; i < reps; ++i) {
      f();
      benchmark::ClobberMemory();
    }
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  std::vector<double> ratio, tl, tk;
  bool flip = false;
  for (auto _ : st) {
    double l, k;
    if (flip) {
      k = time(kernel);
      l = time(limit);
    } else {
      l = time(limit);
      k = time(kernel);
    }
    flip = !flip;
    tl.push_back(l);
    tk.push_back(k);
    ratio.push_back(l / k);
  }
  st.counters["ratio_to_limit"] = median(ratio);
  st.counters["kernel_GBps"] = bytes * reps / median(tk) / 1e9;
  st.counters["limit_GBps"] = bytes * reps / median(tl) / 1e9;
  st.counters["kernel_ns"] = median(tk) / reps * 1e9;
}

/// Sets posenc's prefetch choice for one benchmark and restores the automatic one after it.
struct prefetch_scope {
  explicit prefetch_scope(posenc::prefetch_mode m) { posenc::set_prefetch(m); }
  ~prefetch_scope() { posenc::set_prefetch(posenc::prefetch_mode::automatic); }
  prefetch_scope(const prefetch_scope&) = delete;
  prefetch_scope& operator=(const prefetch_scope&) = delete;
};

/// Name prefix of a forced prefetch variant: "" (automatic), "pf_on_", "pf_off_".
inline std::string prefetch_tag(posenc::prefetch_mode m) {
  return m == posenc::prefetch_mode::automatic ? ""
         : m == posenc::prefetch_mode::on      ? "pf_on_"
                                               : "pf_off_";
}

/// The CPU as the OS names it (/proc/cpuinfo "model name", family, model), for the context of
/// every benchmark run: figures from two machines are compared side by side by this line.
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, name, family, model;
  const auto value = [&line] { return line.substr(line.find(':') + 2); };
  while (std::getline(f, line) && (name.empty() || family.empty() || model.empty())) {
    if (line.rfind("model name", 0) == 0) name = value();
    if (line.rfind("cpu family", 0) == 0) family = value();
    if (line.rfind("model\t", 0) == 0) model = value();
  }
  if (name.empty()) return "unknown";
  return name + " (family " + family + " model " + model + ")";
}

/// Records the CPU model and posenc's prefetch choice in the benchmark context.
inline void add_cpu_context() {
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("posenc_prefetch", posenc::prefetch_enabled() ? "on" : "off");
}

}  // namespace posenc_bench

#endif  // POSENC_BENCH_COMMON_HPP
