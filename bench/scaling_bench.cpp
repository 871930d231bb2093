// RoPE scaling policies (include/posenc/scaling/*.hpp) on the hot path: a scaling only changes
// the frequency table computed at construction, so the cached path must be unchanged by it and
// the on-the-fly path (which also folds the attention factor into cos/sin) within noise of the
// unscaled one. Shape: prefill 4096 tokens × 32 heads × 128, fp32, half_split, rotated in place.
// Yardstick in the same binary over the same bytes:
//   inplace_limit  x *= a: the physical limit of any in-place pass (reads and writes every byte).
// Every benchmark reports bytes/s over the tensor's bytes and items/s over its elements.
// pair_cached/<policy>, pair_fly/<policy>: the unscaled and the scaled rope applied back to back
// in every iteration (order alternating), each timed with steady_clock; the counter `ratio` is
// the median over iterations of t_unscaled / t_scaled (> 1: scaled faster), which cancels most
// of the machine drift a shared 2-core box adds between separate benchmarks.
//
//     scaling_bench --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
//                   --benchmark_report_aggregates_only=true
// or bench/run_scaling_bench.sh BUILD_DIR, which prints the ratios as a table.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/posenc.hpp"

#include "common.hpp"

namespace {

using posenc_bench::finish;
using posenc_bench::scale_in_place;

constexpr std::size_t kTokens = 4096, kHeads = 32, kDim = 128;
constexpr std::size_t kElems = kTokens * kHeads * kDim;

posenc_bench::vector<float> make_data() { return posenc_bench::make_data<float>(kElems); }

void finish(benchmark::State& st) { posenc_bench::finish(st, kElems * sizeof(float), kElems); }

void bm_inplace_limit(benchmark::State& st) {
  posenc_bench::vector<float> x = make_data();
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), x.size(), a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  benchmark::DoNotOptimize(x.data());
  finish(st);
}

using make_rope_fn = std::function<posenc::rope(const posenc::rope_config&)>;

void bm_rope(benchmark::State& st, make_rope_fn make, bool cached) {
  posenc::rope_config cfg;
  cfg.head_dim = kDim;
  cfg.base = 500000.0;
  const posenc::rope r = make(cfg);
  posenc::rope_cache<float> cache(r, cached ? kTokens : 0);
  posenc_bench::vector<float> x = make_data();
  std::vector<std::int64_t> pos(kTokens);
  std::iota(pos.begin(), pos.end(), std::int64_t{0});
  const auto view = posenc::make_head_view(x.data(), kTokens, kHeads, kDim);
  for (auto _ : st) {
    if (cached) {
      cache.apply(view, pos.data());
    } else {
      r.apply(view, pos.data());
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(x.data());
  st.SetLabel(std::string(r.scaling_name()) +
              (r.magnitude() != 1.0 ? " (attention factor folded)" : ""));
  finish(st);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void bm_pair(benchmark::State& st, make_rope_fn make, bool cached) {
  posenc::rope_config cfg;
  cfg.head_dim = kDim;
  cfg.base = 500000.0;
  const posenc::rope plain(cfg), scaled = make(cfg);
  posenc::rope_cache<float> cp(plain, cached ? kTokens : 0), cs(scaled, cached ? kTokens : 0);
  posenc_bench::vector<float> xp = make_data(), xs = make_data();
  std::vector<std::int64_t> pos(kTokens);
  std::iota(pos.begin(), pos.end(), std::int64_t{0});
  const auto vp = posenc::make_head_view(xp.data(), kTokens, kHeads, kDim);
  const auto vs = posenc::make_head_view(xs.data(), kTokens, kHeads, kDim);
  using clock = std::chrono::steady_clock;
  auto timed = [&](const posenc::rope& r, const posenc::rope_cache<float>& c, decltype(vp) v) {
    const auto t0 = clock::now();
    if (cached) {
      c.apply(v, pos.data());
    } else {
      r.apply(v, pos.data());
    }
    benchmark::ClobberMemory();
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  std::vector<double> ratio, tp, ts;
  bool flip = false;
  for (auto _ : st) {
    double a, b;
    if (flip) {
      b = timed(scaled, cs, vs);
      a = timed(plain, cp, vp);
    } else {
      a = timed(plain, cp, vp);
      b = timed(scaled, cs, vs);
    }
    flip = !flip;
    tp.push_back(a);
    ts.push_back(b);
    ratio.push_back(a / b);
  }
  benchmark::DoNotOptimize(xp.data());
  benchmark::DoNotOptimize(xs.data());
  const double bytes = static_cast<double>(kElems * sizeof(float));
  st.counters["ratio"] = median(ratio);
  st.counters["unscaled_GBps"] = bytes / median(tp) / 1e9;
  st.counters["scaled_GBps"] = bytes / median(ts) / 1e9;
  st.SetLabel(scaled.scaling_name());
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * 2 * kElems * sizeof(float)));
}

std::vector<double> ones(double v) { return std::vector<double>(kDim / 2, v); }

const int registered = [] {
  const std::string shape = "/4096x32x128/f32";
  const bool smoke = posenc_bench::smoke();
  auto tune = [smoke](benchmark::internal::Benchmark* b) {
    b->Unit(benchmark::kMillisecond);
    if (!smoke) b->MinTime(0.3);  // CI smoke (POSENC_BENCH_SMOKE): as short as asked
  };
  tune(benchmark::RegisterBenchmark(("inplace_limit" + shape).c_str(), bm_inplace_limit));
  posenc::yarn_scaling yarn;
  yarn.factor = 4.0;
  yarn.original_max_position = 32768;
  posenc::longrope_scaling longrope;
  longrope.short_factor = ones(1.5);
  longrope.long_factor = ones(3.0);
  longrope.original_max_position = 4096;
  longrope.factor = 32.0;
  longrope.served_length = 131072;
  const std::vector<std::pair<std::string, make_rope_fn>> policies = {
      {"none", [](const posenc::rope_config& c) { return posenc::rope(c); }},
      {"linear",
       [](const posenc::rope_config& c) { return posenc::rope(c, posenc::linear_scaling{4.0}); }},
      {"ntk",
       [](const posenc::rope_config& c) { return posenc::rope(c, posenc::ntk_scaling{4.0}); }},
      {"dynamic",
       [](const posenc::rope_config& c) {
         return posenc::rope(c, posenc::dynamic_ntk_scaling{2.0, 2048, 4096, 0});
       }},
      {"yarn", [yarn](const posenc::rope_config& c) { return posenc::rope(c, yarn); }},
      {"llama3",
       [](const posenc::rope_config& c) { return posenc::rope(c, posenc::llama3_scaling{}); }},
      {"longrope", [longrope](const posenc::rope_config& c) { return posenc::rope(c, longrope); }},
      {"freq_factors",
       [](const posenc::rope_config& c) {
         return posenc::rope(c, posenc::freq_factors_scaling{ones(2.0)});
       }},
  };
  for (bool cached : {true, false})
    for (const auto& p : policies)
      tune(benchmark::RegisterBenchmark(
          ((cached ? "rope_cached/" : "rope_fly/") + p.first + shape).c_str(), bm_rope, p.second,
          cached));
  for (bool cached : {true, false})
    for (const auto& p : policies)
      if (p.first != "none")
        benchmark::RegisterBenchmark(
            ((cached ? "pair_cached/" : "pair_fly/") + p.first + shape).c_str(), bm_pair, p.second,
            cached)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(smoke ? 0.01 : 1.0);
  benchmark::AddCustomContext("posenc_arch", posenc::arch_name());
  return 0;
}();

}  // namespace
