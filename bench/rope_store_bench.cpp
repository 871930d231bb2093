// Rotate-and-store (rope_cache::apply_to, f32 k → bf16 KV cache) against the two passes an
// engine makes without it (apply in place, then convert to bf16), and against the limit over
// the bytes the fused form moves: read the f32 source, write the bf16 destination
// (dst = bf16(a·src) with the widest registers, the same bf16 rounding store as the kernel).
//
// The three are timed back to back in every iteration (order rotating) and the medians of the
// per-iteration ratios are reported: limit_ratio = t(limit) / t(fused) (1 = at the limit),
// speedup = t(two passes) / t(fused). A decode step is timed as 512 calls back to back.
// pf_on_/pf_off_: the software prefetch (posenc/tuning.hpp) forced on / off for views of at
// least 8 MiB. Run: taskset -c 1 ./build/bench/rope_store_bench --benchmark_repetitions=3
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/simd/ops.hpp"

#include "common.hpp"

namespace {

using posenc_bench::pattern;

struct shape {
  std::size_t tokens, heads, head_dim;
  std::size_t elems() const { return tokens * heads * head_dim; }
};

// dst = bf16(a · src): one read of the f32 source and one write of the bf16 destination.
void convert_scaled(const float* src, posenc::bfloat16_t* dst, std::size_t n, float a) {
  std::size_t i = 0;
  auto* d16 = reinterpret_cast<std::uint16_t*>(dst);
#if POSENC_HAS_XSIMD
  using A = posenc::default_arch;
  using B = xsimd::batch<float, A>;
  constexpr std::size_t N = B::size;
  const B av(a);
  for (; i + 2 * N <= n; i += 2 * N) {
    posenc::simd::bf16_store<A>(d16 + i, B::load_unaligned(src + i) * av);
    posenc::simd::bf16_store<A>(d16 + i + N, B::load_unaligned(src + i + N) * av);
  }
#endif
  for (; i < n; ++i) dst[i] = posenc::to_bfloat16(src[i] * a);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void bm_store(benchmark::State& st, shape s, posenc::rope_layout layout, posenc::prefetch_mode pf) {
  const posenc_bench::prefetch_scope scope(pf);
  posenc::rope_config cfg;
  cfg.head_dim = s.head_dim;
  cfg.base = 500000.0;
  cfg.layout = layout;
  const posenc::rope r(cfg);
  const std::int64_t first = s.tokens == 1 ? 4000 : 0;  // decode: one token deep in the context
  posenc::rope_cache<float> cache(r, static_cast<std::size_t>(first) + s.tokens);
  std::vector<std::int64_t> pos(s.tokens);
  for (std::size_t t = 0; t < s.tokens; ++t) pos[t] = first + static_cast<std::int64_t>(t);
  const std::size_t n = s.elems();
  posenc_bench::vector<float> src(n), work(n);
  for (std::size_t i = 0; i < n; ++i) src[i] = work[i] = pattern(i);
  posenc_bench::vector<posenc::bfloat16_t> dst(n);
  const auto src_view =
      posenc::make_head_view(static_cast<const float*>(src.data()), s.tokens, s.heads, s.head_dim);
  const auto work_view = posenc::make_head_view(work.data(), s.tokens, s.heads, s.head_dim);
  const auto dst_view = posenc::make_head_view(dst.data(), s.tokens, s.heads, s.head_dim);
  const int reps = s.tokens == 1 ? 512 : 1;
  float a = 1.0f;
  using clock = std::chrono::steady_clock;
  const auto time = [reps](auto&& f) {
    const auto t0 = clock::now();
    for (int i = 0; i < reps; ++i) {
      f();
      benchmark::ClobberMemory();
    }
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  const auto limit = [&] {
    convert_scaled(src.data(), dst.data(), n, a);
    a = a == 1.0f ? 0.999999f : 1.0f;
  };
  const auto fused = [&] { cache.apply_to(src_view, dst_view, pos.data()); };
  const auto two_pass = [&] {  // the rotation leaves |x| unchanged: repeating it stays bounded
    cache.apply(work_view, pos.data());
    convert_scaled(work.data(), dst.data(), n, 1.0f);
  };
  std::vector<double> ratio, speedup, tl, tf, tt;
  int turn = 0;
  for (auto _ : st) {
    double l = 0, f = 0, t = 0;
    for (int k = 0; k < 3; ++k) {
      switch ((turn + k) % 3) {
        case 0:
          l = time(limit);
          break;
        case 1:
          f = time(fused);
          break;
        default:
          t = time(two_pass);
          break;
      }
    }
    turn = (turn + 1) % 3;
    tl.push_back(l);
    tf.push_back(f);
    tt.push_back(t);
    ratio.push_back(l / f);
    speedup.push_back(t / f);
  }
  benchmark::DoNotOptimize(dst.data());
  const double bytes = static_cast<double>(n) * (sizeof(float) + 2) * reps;  // read f32, write bf16
  st.counters["limit_ratio"] = median(ratio);
  st.counters["speedup_vs_2pass"] = median(speedup);
  st.counters["fused_GBps"] = bytes / median(tf) / 1e9;
  st.counters["limit_GBps"] = bytes / median(tl) / 1e9;
  st.counters["fused_ns"] = median(tf) / reps * 1e9;
  st.counters["two_pass_ns"] = median(tt) / reps * 1e9;
}

const int registered = [] {
  const shape shapes[] = {
      {1, 8, 128}, {1, 32, 128}, {512, 8, 128}, {4096, 8, 128}, {4096, 32, 128}};
  for (posenc::rope_layout l :
       {posenc::rope_layout::half_split, posenc::rope_layout::interleaved}) {
    for (const shape& s : shapes) {
      const std::string name =
          std::string("store_f32_to_bf16/") +
          (l == posenc::rope_layout::half_split ? "half_split" : "interleaved") + "/" +
          std::to_string(s.tokens) + "x" + std::to_string(s.heads) + "x" +
          std::to_string(s.head_dim);
      benchmark::RegisterBenchmark(name.c_str(), bm_store, s, l, posenc::prefetch_mode::automatic)
          ->UseRealTime();
      // the software prefetch forced on and off where it can apply (views of >= 8 MiB)
      if (s.elems() * sizeof(float) < (std::size_t{8} << 20)) continue;
      for (auto pf : {posenc::prefetch_mode::on, posenc::prefetch_mode::off})
        benchmark::RegisterBenchmark((posenc_bench::prefetch_tag(pf) + name).c_str(), bm_store, s,
                                     l, pf)
            ->UseRealTime();
    }
  }
  return 0;
}();

}  // namespace
