// ALiBi throughput (include/posenc/alibi.hpp, compose.hpp) with the yardsticks measured in the
// same binary over the same bytes:
//   inplace_limit  x *= a over the same buffer: the physical limit of any in-place pass (it
//                  reads and writes every byte once, as adding a bias must);
//   scalar         the same ALiBi call with Arch = scalar_arch (posenc's reference kernels).
// Every benchmark reports bytes/s over the logits' bytes and items/s over their elements.
//
// full/…    ALiBi + causal mask added tile by tile (128 × 128 and 32 × 256 tiles, the loop of a
//           tiled attention engine) over 32 heads × 2048 × 2048 fp32 logits (512 MiB,
//           memory-bound): causal (half the tiles are entirely in the future: −∞ stores only),
//           symmetric, sum_bias{alibi, causal_mask} (the generic one-pass path), and bf16
//           logits; yardsticks: the linear in-place limit and the same limit over the same tiles
//           in the same order (inplace_limit_tiled).
// tile/…    one L1/L2-sized tile (64, 128, 256, 512 KiB of fp32) added over and over, all keys
//           visible (the expensive case: load + add + store per logit), deep in the sequence
//           (q = 10^5): kernels::add_ramp_2d converts one integer offset per four registers,
//           so no loop-carried position increment limits small tiles.
// Buffers are 64-byte aligned (bench/common.hpp), as an engine's are.
// row/…     decode: one row of 4096 keys per head, 32 heads (add_to_row).
// paired/…  the in-place limit and the bias timed back to back (posenc_bench::paired, median
//           ratio, per-call time): tile/… as above (all keys visible, 64–512 KiB), and dram/…
//           32 heads × 1024 × 1024 fp32 (128 MiB) in 128 × 128 tiles, all keys visible; the
//           DRAM one also with posenc's prefetch forced on and off (pf_on_paired/…,
//           pf_off_paired/…; posenc/tuning.hpp). bench/run_alibi_bench.sh prints the table.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/posenc.hpp"

#include "common.hpp"

namespace {

using posenc_bench::finish;
using posenc_bench::scale_in_place;

constexpr std::size_t kHeads = 32;
constexpr std::size_t kSeq = 2048;
constexpr std::size_t kTile = 128;

template <class T>
posenc_bench::vector<T>& full_logits() {
  static posenc_bench::vector<T> v = [] {
    posenc_bench::vector<T> x(kHeads * kSeq * kSeq);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float f = posenc_bench::pattern(i);
      if constexpr (std::is_same<T, posenc::bfloat16_t>::value) {
        x[i] = posenc::to_bfloat16(f);
      } else {
        x[i] = static_cast<T>(f);
      }
    }
    return x;
  }();
  return v;
}

void bm_full_limit(benchmark::State& st, std::size_t elem_bytes) {
  // the same bytes as the logits (bf16: half the floats)
  posenc_bench::vector<float>& x = full_logits<float>();
  const std::size_t n = x.size() * elem_bytes / sizeof(float);
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), n, a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  finish(st, n * sizeof(float), x.size());
}

struct tiling {
  std::size_t rows, cols;
  std::string name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
};
// 128 × 128: a FlashAttention-2-like tile; 32 × 256: fewer rows per tile. Which one a pass over
// memory prefers is a property of the traversal, not of the bias: inplace_limit_tiled runs
// x *= a over the same tiles in the same order, so alibi / inplace_limit_tiled isolates the
// bias's own cost and inplace_limit (one linear sweep) shows what the traversal costs.
const tiling kTilings[] = {{kTile, kTile}, {32, 256}};

// The tile loop of an engine: for every head, query tile and key tile, call f(tile, h, q0, k0).
template <class T, class F>
void for_each_tile(posenc_bench::vector<T>& x, tiling t, const F& f) {
  for (std::size_t h = 0; h < kHeads; ++h) {
    T* head = x.data() + h * kSeq * kSeq;
    for (std::size_t i0 = 0; i0 < kSeq; i0 += t.rows)
      for (std::size_t j0 = 0; j0 < kSeq; j0 += t.cols)
        f(posenc::make_logits_view(head + i0 * kSeq + j0, t.rows, t.cols,
                                   static_cast<std::ptrdiff_t>(kSeq)),
          h, static_cast<std::int64_t>(i0), static_cast<std::int64_t>(j0));
  }
}

template <class Arch, class T, class Bias>
void bm_full(benchmark::State& st, tiling t, const Bias* bias) {
  posenc_bench::vector<T>& x = full_logits<T>();
  for (auto _ : st) {
    for_each_tile(x, t,
                  [&](posenc::logits_view<T> v, std::size_t h, std::int64_t q0, std::int64_t k0) {
                    bias->template add_to<Arch>(v, h, q0, k0);
                  });
    benchmark::ClobberMemory();
  }
  finish(st, x.size() * sizeof(T), x.size());
}

void bm_full_limit_tiled(benchmark::State& st, tiling t) {
  posenc_bench::vector<float>& x = full_logits<float>();
  float a = 1.0f;
  for (auto _ : st) {
    for_each_tile(x, t, [&](posenc::logits_view<float> v, std::size_t, std::int64_t, std::int64_t) {
      for (std::size_t r = 0; r < v.rows; ++r) scale_in_place(v.row(r), v.cols, a);
    });
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  finish(st, x.size() * sizeof(float), x.size());
}

// ---- L1/L2-sized tiles ----
struct tile_shape {
  std::size_t rows, cols;
  std::size_t bytes() const { return rows * cols * sizeof(float); }
  std::string name() const {
    return std::to_string(bytes() / 1024) + "KiB_" + std::to_string(rows) + "x" +
           std::to_string(cols);
  }
};
const tile_shape kTiles[] = {{128, 128}, {128, 256}, {256, 256}, {256, 512}};

posenc_bench::vector<float> tile_data(const tile_shape& s) {
  posenc_bench::vector<float> x(s.rows * s.cols);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = posenc_bench::pattern(i);
  return x;
}

void bm_tile_limit(benchmark::State& st, tile_shape s) {
  posenc_bench::vector<float> x = tile_data(s);
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), x.size(), a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  finish(st, s.bytes(), x.size());
}

template <class Arch, class Bias>
void bm_tile(benchmark::State& st, tile_shape s, const Bias* bias) {
  posenc_bench::vector<float> x = tile_data(s);
  const auto view = posenc::make_logits_view(x.data(), s.rows, s.cols);
  const std::int64_t q0 = 100000, k0 = q0 - 4096;  // every key visible
  for (auto _ : st) {
    bias->template add_to<Arch>(view, 5, q0, k0);
    benchmark::ClobberMemory();
  }
  finish(st, s.bytes(), x.size());
}

// ---- decode rows ----
template <class Arch>
void bm_row(benchmark::State& st, const posenc::alibi_bias* alibi) {
  const std::size_t n = 4096;
  posenc_bench::vector<float> x(kHeads * n, 0.5f);
  for (auto _ : st) {
    for (std::size_t h = 0; h < kHeads; ++h)
      alibi->add_to_row<Arch>(h, static_cast<std::int64_t>(n - 1), 0, x.data() + h * n, n);
    benchmark::ClobberMemory();
  }
  finish(st, x.size() * sizeof(float), x.size());
}

void bm_row_limit(benchmark::State& st) {
  posenc_bench::vector<float> x(kHeads * 4096, 0.5f);
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), x.size(), a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  finish(st, x.size() * sizeof(float), x.size());
}

// ---- paired ----
template <class Bias>
void bm_paired_tile(benchmark::State& st, tile_shape s, const Bias* bias,
                    posenc::prefetch_mode pf) {
  const posenc_bench::prefetch_scope scope(pf);
  posenc_bench::vector<float> x = tile_data(s);
  const auto view = posenc::make_logits_view(x.data(), s.rows, s.cols);
  const std::int64_t q0 = 100000, k0 = q0 - 4096;  // every key visible
  float a = 1.0f;
  posenc_bench::paired(
      st, static_cast<int>(std::max<std::size_t>(1, (std::size_t{4} << 20) / s.bytes())),
      static_cast<double>(s.bytes()),
      [&] {
        scale_in_place(x.data(), x.size(), a);
        a = a == 1.0f ? 0.999999f : 1.0f;
      },
      [&] { bias->add_to(view, 5, q0, k0); });
  benchmark::DoNotOptimize(x.data());
}

// 32 heads × 1024 × 1024 (128 MiB) in 128 × 128 tiles, every key visible (queries 10^5 + i,
// keys from 10^5 − 4096): the load + add + store per logit of a DRAM-bound pass.
template <class Bias>
void bm_paired_dram(benchmark::State& st, const Bias* bias, posenc::prefetch_mode pf) {
  const posenc_bench::prefetch_scope scope(pf);
  constexpr std::size_t S = 1024;
  posenc_bench::vector<float>& x = full_logits<float>();       // the first 128 MiB of it
  const std::size_t n = x.size() / ((kSeq / S) * (kSeq / S));  // 32 × 1024 × 1024
  float a = 1.0f;
  const auto bias_pass = [&] {
    for (std::size_t h = 0; h < kHeads; ++h)
      for (std::size_t i0 = 0; i0 < S; i0 += kTile)
        for (std::size_t j0 = 0; j0 < S; j0 += kTile)
          bias->add_to(posenc::make_logits_view(x.data() + h * S * S + i0 * S + j0, kTile, kTile,
                                                static_cast<std::ptrdiff_t>(S)),
                       h, static_cast<std::int64_t>(100000 + i0),
                       static_cast<std::int64_t>(100000 - 4096 + j0));
  };
  posenc_bench::paired(
      st, 1, static_cast<double>(n * sizeof(float)),
      [&] {
        scale_in_place(x.data(), n, a);
        a = a == 1.0f ? 0.999999f : 1.0f;
      },
      bias_pass);
}

const posenc::alibi_bias& causal() {
  static const posenc::alibi_bias a({kHeads});
  return a;
}
const posenc::alibi_bias& symmetric() {
  static const posenc::alibi_bias a({kHeads, 8.0, posenc::alibi_mode::symmetric});
  return a;
}

const int registered = [] {
  using posenc::default_arch;
  using posenc::scalar_arch;
  using sum_t =
      posenc::sum_bias<std::reference_wrapper<const posenc::alibi_bias>, posenc::causal_mask>;
  static const sum_t sum{std::cref(symmetric()), posenc::causal_mask{}};
  const auto big = [](benchmark::internal::Benchmark* b) {
    b->Unit(benchmark::kMillisecond);
    if (std::getenv("POSENC_BENCH_SMOKE") == nullptr)
      b->MinTime(0.5);  // CI smoke: as short as asked
  };
  big(benchmark::RegisterBenchmark("full/inplace_limit/f32", bm_full_limit, sizeof(float)));
  for (const tiling& t : kTilings) {
    const std::string n = "/f32/tile" + t.name();
    big(benchmark::RegisterBenchmark(("full/inplace_limit_tiled" + n).c_str(), bm_full_limit_tiled,
                                     t));
    big(benchmark::RegisterBenchmark(("full/alibi_causal" + n).c_str(),
                                     bm_full<default_arch, float, posenc::alibi_bias>, t,
                                     &causal()));
    big(benchmark::RegisterBenchmark(("full/alibi_symmetric" + n).c_str(),
                                     bm_full<default_arch, float, posenc::alibi_bias>, t,
                                     &symmetric()));
    big(benchmark::RegisterBenchmark(("full/sum_alibi_mask" + n).c_str(),
                                     bm_full<default_arch, float, sum_t>, t, &sum));
    big(benchmark::RegisterBenchmark(("full/scalar_alibi_causal" + n).c_str(),
                                     bm_full<scalar_arch, float, posenc::alibi_bias>, t,
                                     &causal()));
  }
  big(benchmark::RegisterBenchmark("full/inplace_limit/bf16", bm_full_limit,
                                   sizeof(posenc::bfloat16_t)));
  big(benchmark::RegisterBenchmark("full/alibi_causal/bf16/tile128x128",
                                   bm_full<default_arch, posenc::bfloat16_t, posenc::alibi_bias>,
                                   kTilings[0], &causal()));
  for (const tile_shape& s : kTiles) {
    const std::string n = s.name();
    benchmark::RegisterBenchmark(("tile/inplace_limit/" + n).c_str(), bm_tile_limit, s);
    benchmark::RegisterBenchmark(("tile/alibi_causal/" + n).c_str(),
                                 bm_tile<default_arch, posenc::alibi_bias>, s, &causal());
    benchmark::RegisterBenchmark(("tile/alibi_symmetric/" + n).c_str(),
                                 bm_tile<default_arch, posenc::alibi_bias>, s, &symmetric());
    benchmark::RegisterBenchmark(("tile/sum_alibi_mask/" + n).c_str(), bm_tile<default_arch, sum_t>,
                                 s, &sum);
    benchmark::RegisterBenchmark(("tile/scalar_alibi_causal/" + n).c_str(),
                                 bm_tile<scalar_arch, posenc::alibi_bias>, s, &causal());
  }
  const int paired_iters = std::getenv("POSENC_BENCH_SMOKE") == nullptr ? 201 : 2;
  for (auto pf :
       {posenc::prefetch_mode::automatic, posenc::prefetch_mode::on, posenc::prefetch_mode::off}) {
    const std::string tag = posenc_bench::prefetch_tag(pf);
    for (const tile_shape& s : kTiles)
      benchmark::RegisterBenchmark((tag + "paired/tile/alibi_causal/" + s.name()).c_str(),
                                   bm_paired_tile<posenc::alibi_bias>, s, &causal(), pf)
          ->Iterations(paired_iters)
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((tag + "paired/dram/alibi_causal/128MiB_32x1024x1024").c_str(),
                                 bm_paired_dram<posenc::alibi_bias>, &causal(), pf)
        ->Iterations(std::getenv("POSENC_BENCH_SMOKE") == nullptr ? 21 : 2)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("row/inplace_limit/32x4096", bm_row_limit);
  benchmark::RegisterBenchmark("row/alibi_causal/32x4096", bm_row<default_arch>, &causal());
  benchmark::RegisterBenchmark("row/scalar_alibi_causal/32x4096", bm_row<scalar_arch>, &causal());
  benchmark::AddCustomContext("posenc_arch", posenc::arch_name());
  posenc_bench::add_cpu_context();
  return 0;
}();

}  // namespace
