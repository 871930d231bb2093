// BiPE benchmarks (posenc/bipe.hpp):
//   seg/full/N         one segmentation pass over N token ids (items = tokens); full_<isa>/N
//                      the same on a narrower instruction set of this CPU (and the scalar loop);
//                      full_7ids/N with 7 delimiter ids (eight compares per register)
//   seg/stream/C/N     the same N tokens through the streaming state, C tokens per call
//                      (C = 1: a decode step per call)
//   rope/{tokens,segments}/T   rope_cache::apply on q [T × 32 × 128] and k [T × 8 × 128] at token
//                      positions vs at BiPE segment indices (same kernels, other positions),
//                      beside the in-place limit over the same bytes
//   alibi/{alibi,bipe}/R×C     a causal ALiBi tile add vs BiPE-ALiBi (ALiBi at int32 segment
//                      indices through positioned<>), beside the in-place limit of the tile;
//                      bipe_one_segment: the same with no delimiter (one bias row per tile)
//   paired/bipe_vs_alibi/R×C   plain ALiBi and BiPE-ALiBi over the same tile, timed back to
//                      back (posenc_bench::paired with the ALiBi call as the yardstick): the
//                      ratio is t(ALiBi) / t(BiPE-ALiBi), its inverse the cost of BiPE
// Token ids: uniform in [0, 32000) with two delimiter ids drawn ~1 in 20 tokens.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/alibi.hpp"
#include "posenc/bipe.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"

#include "common.hpp"

namespace {

using posenc_bench::finish;
using posenc_bench::scale_in_place;

std::vector<std::int32_t> make_ids(std::size_t n) {
  std::vector<std::int32_t> ids(n);
  std::uint64_t s = 88172645463325252ull;
  for (auto& id : ids) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    id = (s % 20 == 0) ? ((s >> 8) % 2 ? 869 : 13) : static_cast<std::int32_t>((s >> 16) % 32000);
  }
  return ids;
}
const posenc::bipe_segmenter& segmenter() {
  static const posenc::bipe_segmenter s(posenc::bipe_segmenter::config{{869, 13}, 1023});
  return s;
}
/// Seven delimiter ids (more than four: eight compares per register); ids 1–5
/// occur at 5 in 32000 tokens, so the segments are nearly those of segmenter().
const posenc::bipe_segmenter& segmenter_7ids() {
  static const posenc::bipe_segmenter s(
      posenc::bipe_segmenter::config{{869, 13, 1, 2, 3, 4, 5}, 1023});
  return s;
}

template <class Arch = posenc::default_arch, bool SevenIds = false>
void bm_seg_full(benchmark::State& st, std::size_t n) {
  const auto ids = make_ids(n);
  std::vector<std::int32_t> seg(n), intra(n);
  const posenc::bipe_segmenter& sg = SevenIds ? segmenter_7ids() : segmenter();
  for (auto _ : st) {
    posenc::bipe_segmenter::state s;
    sg.segment<Arch>(ids.data(), n, seg.data(), intra.data(), s);
    benchmark::DoNotOptimize(seg.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}

void bm_seg_stream(benchmark::State& st, std::size_t chunk, std::size_t n) {
  const auto ids = make_ids(n);
  std::vector<std::int32_t> seg(n), intra(n);
  for (auto _ : st) {
    posenc::bipe_segmenter::state s;
    for (std::size_t t = 0; t < n; t += chunk)
      segmenter().segment(ids.data() + t, std::min(chunk, n - t), seg.data() + t, intra.data() + t,
                          s);
    benchmark::DoNotOptimize(seg.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}

constexpr std::size_t kHq = 32, kHkv = 8, kDim = 128;

const posenc::rope_cache<float>& cache() {
  static const posenc::rope_cache<float> c = [] {
    posenc::rope_config cfg;
    cfg.head_dim = kDim;
    cfg.base = 500000.0;
    return posenc::rope_cache<float>(posenc::rope(cfg), 16384);
  }();
  return c;
}

void bm_rope(benchmark::State& st, std::size_t T, bool segments) {
  posenc_bench::vector<float> q(T * kHq * kDim), k(T * kHkv * kDim);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = posenc_bench::pattern(i);
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = posenc_bench::pattern(i + 7);
  // Decode: the last token of a 4096-token context; prefill: tokens 0 .. T−1.
  const std::size_t first = T == 1 ? 4095 : 0;
  const auto ids = make_ids(first + T);
  std::vector<std::int32_t> seg(first + T), intra(first + T), pos(T);
  segmenter().segment(ids.data(), ids.size(), seg.data(), intra.data());
  for (std::size_t t = 0; t < T; ++t)
    pos[t] = segments ? seg[first + t] : static_cast<std::int32_t>(first + t);
  const auto qv = posenc::make_head_view(q.data(), T, kHq, kDim);
  const auto kv = posenc::make_head_view(k.data(), T, kHkv, kDim);
  for (auto _ : st) {
    cache().apply(qv, kv, pos.data());
    benchmark::ClobberMemory();
  }
  finish(st, (q.size() + k.size()) * 2 * sizeof(float), q.size() + k.size());
}

/// The in-place limit over n floats (x *= a, the same bytes as the kernel it stands beside).
void bm_limit(benchmark::State& st, std::size_t n) {
  posenc_bench::vector<float> x(n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = posenc_bench::pattern(i);
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), x.size(), a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  finish(st, x.size() * 2 * sizeof(float), x.size());
}

constexpr std::size_t kHeads = 32;

const posenc::alibi_bias& plain_alibi() {
  static const posenc::alibi_bias a(posenc::alibi_config{kHeads});
  return a;
}
const posenc::alibi_bias& bipe_alibi() {
  static const posenc::alibi_bias a = posenc::make_bipe_alibi({kHeads});
  return a;
}

/// A tile with every key visible (queries after the keys) and the BiPE segment map of its
/// positions (one_segment: no delimiter, one bias row for the whole tile).
struct tile_case {
  posenc_bench::vector<float> x;
  std::vector<std::int32_t> seg;
  std::int64_t k0, q0;
  tile_case(std::size_t R, std::size_t C, bool one_segment)
      : x(R * C), k0(4096), q0(4096 + static_cast<std::int64_t>(C)) {
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = posenc_bench::pattern(i);
    auto ids = make_ids(static_cast<std::size_t>(q0) + R);
    if (one_segment)
      for (auto& id : ids) id = id == 869 || id == 13 ? 1 : id;
    seg.resize(ids.size());
    std::vector<std::int32_t> intra(ids.size());
    segmenter().segment(ids.data(), ids.size(), seg.data(), intra.data());
  }
};

void bm_tile(benchmark::State& st, std::size_t R, std::size_t C, bool bipe, bool one_segment) {
  tile_case t(R, C, one_segment);
  const auto view = posenc::make_logits_view(t.x.data(), R, C);
  const auto b = posenc::bipe_alibi_bias(std::cref(bipe_alibi()), t.seg.data(), t.seg.size());
  for (auto _ : st) {
    if (bipe) {
      b.add_to(view, 5, t.q0, t.k0);
    } else {
      plain_alibi().add_to(view, 5, t.q0, t.k0);
    }
    benchmark::ClobberMemory();
  }
  finish(st, t.x.size() * 2 * sizeof(float), t.x.size());
}

void bm_paired_tile(benchmark::State& st, std::size_t R, std::size_t C, posenc::prefetch_mode pf) {
  const posenc_bench::prefetch_scope scope(pf);
  tile_case t(R, C, false);
  const auto view = posenc::make_logits_view(t.x.data(), R, C);
  const auto b = posenc::bipe_alibi_bias(std::cref(bipe_alibi()), t.seg.data(), t.seg.size());
  posenc_bench::paired(
      st, static_cast<int>(std::max<std::size_t>(1, (std::size_t{4} << 20) / (R * C * 4))),
      static_cast<double>(R * C * sizeof(float)),
      [&] { plain_alibi().add_to(view, 5, t.q0, t.k0); }, [&] { b.add_to(view, 5, t.q0, t.k0); });
}

const bool registered = [] {
  const bool smoke = std::getenv("POSENC_BENCH_SMOKE") != nullptr;
  const auto reg = [&](benchmark::internal::Benchmark* b) {
    if (!smoke) b->MinTime(0.3);
  };
  for (std::size_t n : {std::size_t{4096}, std::size_t{1} << 20}) {
    const std::string s = std::to_string(n);
    reg(benchmark::RegisterBenchmark(("seg/full/" + s).c_str(), bm_seg_full<>, n));
    reg(benchmark::RegisterBenchmark(("seg/full_7ids/" + s).c_str(),
                                     bm_seg_full<posenc::default_arch, true>, n));
    // the same pass on narrower instruction sets of this CPU, and the scalar loop
    reg(benchmark::RegisterBenchmark(("seg/full_scalar/" + s).c_str(),
                                     bm_seg_full<posenc::scalar_arch>, n));
#if POSENC_HAS_XSIMD
    const auto cpu = xsimd::available_architectures();
#if XSIMD_WITH_SSE2
    if (cpu.sse2)
      reg(benchmark::RegisterBenchmark(("seg/full_sse2/" + s).c_str(), bm_seg_full<xsimd::sse2>,
                                       n));
#endif
#if XSIMD_WITH_SSE4_1
    if (cpu.sse4_1)
      reg(benchmark::RegisterBenchmark(("seg/full_sse4_1/" + s).c_str(), bm_seg_full<xsimd::sse4_1>,
                                       n));
#endif
#if XSIMD_WITH_AVX2
    if (cpu.avx2)
      reg(benchmark::RegisterBenchmark(("seg/full_avx2/" + s).c_str(), bm_seg_full<xsimd::avx2>,
                                       n));
#endif
#endif
    reg(benchmark::RegisterBenchmark(("seg/stream/1/" + s).c_str(), bm_seg_stream, 1, n));
    reg(benchmark::RegisterBenchmark(("seg/stream/512/" + s).c_str(), bm_seg_stream, 512, n));
  }
  for (std::size_t T : {std::size_t{1}, std::size_t{512}, std::size_t{4096}}) {
    const std::string s = std::to_string(T);
    reg(benchmark::RegisterBenchmark(("rope/inplace_limit/" + s).c_str(), bm_limit,
                                     T * (kHq + kHkv) * kDim));
    reg(benchmark::RegisterBenchmark(("rope/tokens/" + s).c_str(), bm_rope, T, false));
    reg(benchmark::RegisterBenchmark(("rope/segments/" + s).c_str(), bm_rope, T, true));
  }
  for (std::size_t n : {std::size_t{128}, std::size_t{256}, std::size_t{512}, std::size_t{2048}}) {
    const std::string s = std::to_string(n) + "x" + std::to_string(n);
    reg(benchmark::RegisterBenchmark(("alibi/inplace_limit/" + s).c_str(), bm_limit, n * n));
    reg(benchmark::RegisterBenchmark(("alibi/alibi/" + s).c_str(), bm_tile, n, n, false, false));
    reg(benchmark::RegisterBenchmark(("alibi/bipe/" + s).c_str(), bm_tile, n, n, true, false));
    reg(benchmark::RegisterBenchmark(("alibi/bipe_one_segment/" + s).c_str(), bm_tile, n, n, true,
                                     true));
    for (auto pf :
         {posenc::prefetch_mode::automatic, posenc::prefetch_mode::on, posenc::prefetch_mode::off})
      benchmark::RegisterBenchmark(
          (posenc_bench::prefetch_tag(pf) + "paired/bipe_vs_alibi/" + s).c_str(), bm_paired_tile, n,
          n, pf)
          ->Iterations(smoke       ? 2
                       : n >= 2048 ? 31
                                   : 201)
          ->Unit(benchmark::kMicrosecond);
  }
  benchmark::AddCustomContext("posenc_arch", posenc::arch_name());
  posenc_bench::add_cpu_context();
  return true;
}();

}  // namespace
