// RoPE throughput (include/posenc/rope.hpp, rope_cache.hpp) on model shapes, with the yardsticks
// measured in the same binary over the same bytes:
//   inplace_limit  x *= a over the same buffer: the physical limit of any in-place op (it reads
//                  and writes every byte once, as RoPE must);
//   memcpy         the same bytes to a separate buffer (slower: read-for-ownership of the dst);
//   scalar         posenc's scalar reference kernels (Arch = scalar_arch) on the cached path.
// Every benchmark reports bytes/s over the tensor's bytes and items/s over its elements.
// Storage: f32, bf16 and f16 (IEEE binary16).
// Shapes: [tokens × 32 heads × head_dim], one tensor rotated in place; decode 1×32×128 and
// prefill 512 / 4096 / 16384 × 32 × 128, plus head_dim 64. bench/run_rope_bench.sh prints the
// ratios as a table. paired/…: limit and rope timed back to back per iteration (median ratio),
// for decode and the L3/DRAM-sized shapes, where separate runs drift.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/posenc.hpp"

#include "common.hpp"

namespace {

using posenc_bench::finish;
using posenc_bench::scale_in_place;

constexpr std::size_t kHeads = 32;
constexpr std::int64_t kDecodePos = 3000;  // a decode step deep into the KV cache

struct shape {
  std::size_t tokens, head_dim;
  std::string name() const {
    return std::to_string(tokens) + "x" + std::to_string(kHeads) + "x" + std::to_string(head_dim);
  }
  std::size_t elems() const { return tokens * kHeads * head_dim; }
};

const shape kShapes[] = {{1, 128}, {512, 128}, {4096, 128}, {16384, 128}, {1, 64}, {4096, 64}};

std::vector<std::int64_t> positions(std::size_t tokens) {
  std::vector<std::int64_t> p(tokens);
  if (tokens == 1) {
    p[0] = kDecodePos;
  } else {
    std::iota(p.begin(), p.end(), std::int64_t{0});
  }
  return p;
}

// x *= a over `bytes` bytes of floats: the in-place limit for any storage of that size.
void bm_inplace_limit(benchmark::State& st, shape s, std::size_t elem_bytes) {
  const std::size_t bytes = s.elems() * elem_bytes;
  posenc_bench::vector<float> x = posenc_bench::make_data<float>(bytes / sizeof(float));
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), x.size(), a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  benchmark::DoNotOptimize(x.data());
  finish(st, bytes, s.elems());
}

void bm_memcpy(benchmark::State& st, shape s, std::size_t elem_bytes) {
  const std::size_t bytes = s.elems() * elem_bytes;
  posenc_bench::vector<char> src(bytes, 1), dst(bytes, 0);
  for (auto _ : st) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(dst.data());
  finish(st, bytes, s.elems());
}

enum class source { cached, fly };

template <class Arch, class T>
void bm_rope(benchmark::State& st, shape s, posenc::rope_layout layout, source src) {
  posenc::rope_config cfg;
  cfg.head_dim = s.head_dim;
  cfg.base = 500000.0;
  cfg.layout = layout;
  const posenc::rope r(cfg);
  using C = posenc::coef_t<T>;
  posenc::rope_cache<C> cache(r, src == source::cached ? 16384 + kDecodePos + 1 : 0, Arch{});
  posenc_bench::vector<T> x = posenc_bench::make_data<T>(s.elems());
  const std::vector<std::int64_t> pos = positions(s.tokens);
  const auto view = posenc::make_head_view(x.data(), s.tokens, kHeads, s.head_dim);
  for (auto _ : st) {
    if (src == source::cached) {
      cache.template apply<Arch>(view, pos.data());
    } else {
      r.apply<Arch>(view, pos.data());
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(x.data());
  finish(st, s.elems() * sizeof(T), s.elems());
}

// The in-place limit and the cached rope back to back (posenc_bench::paired). A decode step
// (1 token, ~0.1 µs) is timed as 512 calls. pf: posenc's prefetch choice for the run
// (automatic: the per-core default of posenc/tuning.hpp; on / off: forced, to measure the
// decision on any core).
template <class T>
void bm_paired(benchmark::State& st, shape s, posenc::rope_layout layout,
               posenc::prefetch_mode pf) {
  const posenc_bench::prefetch_scope scope(pf);
  posenc::rope_config cfg;
  cfg.head_dim = s.head_dim;
  cfg.base = 500000.0;
  cfg.layout = layout;
  const posenc::rope r(cfg);
  posenc::rope_cache<posenc::coef_t<T>> cache(
      r, std::max<std::size_t>(s.tokens, static_cast<std::size_t>(kDecodePos) + 1));
  posenc_bench::vector<T> x = posenc_bench::make_data<T>(s.elems());
  const std::vector<std::int64_t> pos = positions(s.tokens);
  const auto view = posenc::make_head_view(x.data(), s.tokens, kHeads, s.head_dim);
  float* xf = reinterpret_cast<float*>(x.data());
  const std::size_t nf = s.elems() * sizeof(T) / sizeof(float);
  float a = 1.0f;
  posenc_bench::paired(
      st, s.tokens == 1 ? 512 : 1, static_cast<double>(s.elems() * sizeof(T)),
      [&] {
        scale_in_place(xf, nf, a);
        a = a == 1.0f ? 0.999999f : 1.0f;
      },
      [&] { cache.apply(view, pos.data()); });
  benchmark::DoNotOptimize(x.data());
}

const char* layout_name(posenc::rope_layout l) {
  return l == posenc::rope_layout::half_split ? "half_split" : "interleaved";
}

template <class T>
const char* type_name() {
  return std::is_same<T, float>::value                ? "f32"
         : std::is_same<T, posenc::bfloat16_t>::value ? "bf16"
                                                      : "f16";
}

template <class T>
void register_type() {
  for (const shape& s : kShapes) {
    const std::string sh = s.name();
    const bool big = s.tokens >= 4096;
    auto tune = [&](benchmark::internal::Benchmark* b) {
      b->Unit(big ? benchmark::kMillisecond : benchmark::kMicrosecond);
      if (big && std::getenv("POSENC_BENCH_SMOKE") == nullptr)
        b->MinTime(0.2);  // CI smoke: as short as asked
    };
    tune(benchmark::RegisterBenchmark(
        ("inplace_limit/" + std::string(type_name<T>()) + "/" + sh).c_str(), bm_inplace_limit, s,
        sizeof(T)));
    tune(benchmark::RegisterBenchmark(("memcpy/" + std::string(type_name<T>()) + "/" + sh).c_str(),
                                      bm_memcpy, s, sizeof(T)));
    for (auto layout : {posenc::rope_layout::half_split, posenc::rope_layout::interleaved}) {
      const std::string suffix = std::string(layout_name(layout)) + "/" + type_name<T>() + "/" + sh;
      tune(benchmark::RegisterBenchmark(("rope_cached/" + suffix).c_str(),
                                        bm_rope<posenc::default_arch, T>, s, layout,
                                        source::cached));
      tune(benchmark::RegisterBenchmark(("rope_fly/" + suffix).c_str(),
                                        bm_rope<posenc::default_arch, T>, s, layout, source::fly));
      tune(benchmark::RegisterBenchmark(("scalar_cached/" + suffix).c_str(),
                                        bm_rope<posenc::scalar_arch, T>, s, layout,
                                        source::cached));
#if POSENC_WITH_AVX2F16C
      // binary16 on the same core without F16C (xsimd's AVX2 tag: integer conversion), beside
      // rope_cached on posenc::avx2f16c (hardware conversion).
      if (std::is_same<T, posenc::float16_t>::value)
        tune(benchmark::RegisterBenchmark(("avx2_intconv_cached/" + suffix).c_str(),
                                          bm_rope<xsimd::fma3<xsimd::avx2>, T>, s, layout,
                                          source::cached));
#endif
    }
  }
}

// Paired runs: decode and every prefill size for f32, 4096 and 16384 for bf16; at the sizes
// where posenc may prefetch (views >= 8 MiB, detail/rope_apply.hpp) also with the prefetch
// forced on and off (pf_on_paired/…, pf_off_paired/…).
template <class T>
void register_paired() {
  const bool f32 = std::is_same<T, float>::value;
  for (const shape& s : kShapes) {
    const bool decode = s.tokens == 1;
    if (s.head_dim != 128 || (!f32 && s.tokens < 4096)) continue;
    const bool streamed = s.elems() * sizeof(T) >= posenc::detail::rope_prefetch_min_bytes;
    for (auto pf : {posenc::prefetch_mode::automatic, posenc::prefetch_mode::on,
                    posenc::prefetch_mode::off}) {
      if (pf != posenc::prefetch_mode::automatic && !streamed) continue;
      const std::string kind = posenc_bench::prefetch_tag(pf) + "paired";
      for (auto layout : {posenc::rope_layout::half_split, posenc::rope_layout::interleaved}) {
        auto* b = benchmark::RegisterBenchmark(
            (kind + "/" + layout_name(layout) + "/" + type_name<T>() + "/" + s.name()).c_str(),
            bm_paired<T>, s, layout, pf);
        b->Unit(decode ? benchmark::kMicrosecond : benchmark::kMillisecond);
        b->Iterations(std::getenv("POSENC_BENCH_SMOKE") == nullptr ? (decode ? 201 : 31) : 2);
      }
    }
  }
}

const int registered = [] {
  register_type<float>();
  register_type<posenc::bfloat16_t>();
  register_type<posenc::float16_t>();
  register_paired<float>();
  register_paired<posenc::bfloat16_t>();
  benchmark::AddCustomContext("posenc_arch", posenc::arch_name());
  posenc_bench::add_cpu_context();
  return 0;
}();

}  // namespace
