// Runtime dispatch (posenc::dispatch) vs the header path on the same architecture: the cost of
// the one indirect call per API call. Each iteration times, back to back (order rotating), the
// in-place limit (x *= a over the same bytes), the header call cache.apply<default_arch>(…) of
// this TU (-march=native) and posenc::dispatch::apply(cache, …) at the library's automatic
// choice; the benchmark is skipped if the two architectures differ. The header call is timed
// twice: inlined into the timing loop (the compiler may hoist the call's loop-invariant set-up
// out of the repetitions, which an engine, whose every call has new data, never gets) and
// through a non-inlined function of this TU (a call boundary, as the dispatched call has).
// Reported: the medians per call and the median per-iteration ratios dispatch / header.
// Shapes: q [T × 32 × 128] and k [T × 8 × 128] (GQA) rotated together, as an engine calls it:
// decode T = 1 (timed as 512 calls back to back) and prefill T = 512; f32, half-split,
// rope_cache<float>. (With one tensor alone, GCC specialises the header call for one view — a
// .constprop clone — which the library, serving both forms, does not: ~9 % on a decode step.)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/dispatch.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"

#include "common.hpp"

namespace {

using posenc_bench::scale_in_place;
constexpr std::size_t kHeads = 32, kKvHeads = 8, kDim = 128;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// The header call behind a call boundary (direct call, not inlined).
[[gnu::noinline]] void header_call(const posenc::rope_cache<float>& cache,
                                   posenc::head_view<float> q, posenc::head_view<float> k,
                                   const std::int64_t* pos) {
  cache.apply<posenc::default_arch>(q, k, pos);
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  benchmark::ClobberMemory();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void bm_dispatch_paired(benchmark::State& st, std::size_t tokens) {
  if (std::strcmp(posenc::dispatch::arch_name(), posenc::default_arch::name()) != 0) {
    st.SkipWithError("the library's choice differs from this TU's -march=native architecture");
    return;
  }
  posenc::rope_config cfg;
  cfg.head_dim = kDim;
  cfg.base = 500000.0;
  const posenc::rope r(cfg);
  const posenc::rope_cache<float> cache(r, 4096);
  const int reps = tokens == 1 ? 512 : 1;
  posenc_bench::vector<float> x(tokens * (kHeads + kKvHeads) * kDim);  // q then k
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = posenc_bench::pattern(i);
  std::vector<std::int64_t> pos(tokens);
  std::iota(pos.begin(), pos.end(), std::int64_t{tokens == 1 ? 1000 : 0});
  const auto q = posenc::make_head_view(x.data(), tokens, kHeads, kDim);
  const auto k = posenc::make_head_view(x.data() + tokens * kHeads * kDim, tokens, kKvHeads, kDim);
  float a = 1.0f;
  const auto limit = [&] {
    for (int i = 0; i < reps; ++i) {
      scale_in_place(x.data(), x.size(), a);
      a = a == 1.0f ? 0.999999f : 1.0f;
      benchmark::ClobberMemory();
    }
  };
  const auto header = [&] {
    for (int i = 0; i < reps; ++i) {
      cache.apply<posenc::default_arch>(q, k, pos.data());
      benchmark::ClobberMemory();
    }
  };
  const auto header_noinline = [&] {
    for (int i = 0; i < reps; ++i) {
      header_call(cache, q, k, pos.data());
      benchmark::ClobberMemory();
    }
  };
  const auto dispatched = [&] {
    for (int i = 0; i < reps; ++i) {
      posenc::dispatch::apply(cache, q, k, pos.data());
      benchmark::ClobberMemory();
    }
  };
  std::vector<double> tl, th, tn, td, ratio, ratio_n;
  int turn = 0;
  for (auto _ : st) {
    double t[4] = {0, 0, 0, 0};
    for (int j = 0; j < 4; ++j) {  // rotate the order: no position in the sequence is favoured
      const int k = (turn + j) % 4;
      t[k] = k == 0   ? seconds(limit)
             : k == 1 ? seconds(header)
             : k == 2 ? seconds(header_noinline)
                      : seconds(dispatched);
    }
    ++turn;
    tl.push_back(t[0]);
    th.push_back(t[1]);
    tn.push_back(t[2]);
    td.push_back(t[3]);
    ratio.push_back(t[3] / t[1]);
    ratio_n.push_back(t[3] / t[2]);
  }
  const double per_call = 1e9 / reps;
  st.counters["dispatch/header"] = median(ratio);
  st.counters["dispatch/header_noinline"] = median(ratio_n);
  st.counters["header_ns"] = median(th) * per_call;
  st.counters["header_noinline_ns"] = median(tn) * per_call;
  st.counters["dispatch_ns"] = median(td) * per_call;
  st.counters["limit_ns"] = median(tl) * per_call;
  st.SetLabel(posenc::dispatch::arch_name());
}

BENCHMARK_CAPTURE(bm_dispatch_paired, decode_q1x32x128_k1x8x128_f32, 1)->Iterations(2000);
BENCHMARK_CAPTURE(bm_dispatch_paired, prefill_q512x32x128_k512x8x128_f32, 512)->Iterations(300);

}  // namespace
