// What every posenc benchmark shares: cache-line-aligned buffers, the deterministic fill, the
// in-place yardstick and the bytes/items counters.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_BENCH_COMMON_HPP
#define POSENC_BENCH_COMMON_HPP

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/config.hpp"
#include "posenc/detail/aligned.hpp"
#include "posenc/storage.hpp"

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

}  // namespace posenc_bench

#endif  // POSENC_BENCH_COMMON_HPP
