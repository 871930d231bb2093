// CoPE position term (posenc/cope.hpp) for a causal prefill: H = 8 heads, d = 64, npos_max = 64,
// T = 512, 2048, 8192, given each head's T×T scaled logits z (lower triangle) and queries.
//
//   cope/fused         per query row: e = q·E (xsimd), then the fused row kernel (sigmoid,
//                      reverse scan with the running sum, clamp, interpolation, add) in place;
//                      extra memory npos_max floats
//   cope/materialised  the paper's listing in plain C++ loops over full T×T tensors: gates,
//                      reverse cumsum + clamp, logits_int = Q·E, gathered/interpolated pos
//                      logits, then added; extra memory 3·T² + T·npos floats per head
//   floor              one in-place pass over the same lower triangle (x *= a, widest
//                      registers): the memory floor of anything that touches every logit
//   cope/row1024*      the row kernel alone over one 1024-key row in L1 (ns per key), float
//                      and double, and on narrower instruction sets of this CPU
//
// Gate regimes: dense (z around +3: gates ≈ 0.95, the clamp saturates after ~2·npos keys and
// the fused kernel only adds e[npos−1] to the rest), sparse (z around −8: gates ≈ 3e−4, no
// saturation within 8192 keys). Each head starts from a pristine copy of z (copied with the
// timer paused). POSENC_BENCH_SMOKE: T = 512 only, as short as asked (CI).
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/cope.hpp"

#include "common.hpp"

namespace {

constexpr std::size_t H = 8, D = 64, NPOS = 64;

struct problem {
  std::size_t T = 0;
  posenc_bench::vector<float> z0, z, q, E;
};

problem& get(std::size_t T, bool dense) {
  static problem cache[2];
  problem& p = cache[dense ? 1 : 0];
  if (p.T == T) return p;
  p = problem{};
  p.T = T;
  p.z0.resize(T * T);
  const float base = dense ? 3.0f : -8.0f;
  for (std::size_t i = 0; i < T; ++i)
    for (std::size_t j = 0; j < T; ++j) p.z0[i * T + j] = base + posenc_bench::pattern(i * T + j);
  p.z = p.z0;
  p.q.resize(H * T * D);
  for (std::size_t i = 0; i < p.q.size(); ++i) p.q[i] = posenc_bench::pattern(i + 7);
  p.E.resize(D * NPOS);
  for (std::size_t i = 0; i < p.E.size(); ++i) p.E[i] = 0.1f * posenc_bench::pattern(i + 3);
  return p;
}

void restore(benchmark::State& st, problem& p) {
  st.PauseTiming();
  std::memcpy(p.z.data(), p.z0.data(), p.z.size() * sizeof(float));
  st.ResumeTiming();
}

void finish(benchmark::State& st, std::size_t T, double extra_bytes) {
  const std::size_t elems = H * T * (T + 1) / 2;
  posenc_bench::finish(st, elems * sizeof(float), elems);
  st.counters["extra_MiB"] = extra_bytes / (1024.0 * 1024.0);
}

void bm_fused(benchmark::State& st, bool dense) {
  const std::size_t T = static_cast<std::size_t>(st.range(0));
  problem& p = get(T, dense);
  const posenc::cope_bias<float> cope{posenc::make_head_view(p.E.data(), D, 1, NPOS), {NPOS}};
  alignas(64) float scratch[NPOS];
  const float scale = 1.0f / std::sqrt(float(D));
  for (auto _ : st) {
    for (std::size_t h = 0; h < H; ++h) {
      restore(st, p);
      for (std::size_t i = 0; i < T; ++i)
        cope.add_to_row<posenc::default_arch>(h, 0, p.q.data() + (h * T + i) * D, scale,
                                              p.z.data() + i * T, i + 1, scratch);
    }
    benchmark::DoNotOptimize(p.z.data());
    benchmark::ClobberMemory();
  }
  finish(st, T, NPOS * sizeof(float));
}

// The paper's listing, transcribed into plain loops over full T×T tensors (masked entries:
// gate 0, logit −∞ stays −∞).
void bm_materialised(benchmark::State& st, bool dense) {
  const std::size_t T = static_cast<std::size_t>(st.range(0));
  problem& p = get(T, dense);
  std::vector<float> gates(T * T), pos(T * T), li(T * NPOS), pl(T * T);
  const float cap = float(NPOS - 1);
  for (auto _ : st) {
    for (std::size_t h = 0; h < H; ++h) {
      restore(st, p);
      for (std::size_t i = 0; i < T; ++i)  // gates = sigmoid(z + log(mask))
        for (std::size_t j = 0; j < T; ++j)
          gates[i * T + j] = j <= i ? 1.0f / (1.0f + std::exp(-p.z[i * T + j])) : 0.0f;
      for (std::size_t i = 0; i < T; ++i) {  // pos = gates.flip(-1).cumsum(-1).flip(-1).clamp
        float s = 0;
        for (std::size_t j = T; j-- > 0;) {
          s += gates[i * T + j];
          pos[i * T + j] = std::min(s, cap);
        }
      }
      for (std::size_t i = 0; i < T; ++i)  // logits_int = q @ pos_emb
        for (std::size_t c = 0; c < NPOS; ++c) {
          float a = 0;
          for (std::size_t k = 0; k < D; ++k) a += p.q[(h * T + i) * D + k] * p.E[k * NPOS + c];
          li[i * NPOS + c] = a;
        }
      for (std::size_t i = 0; i < T; ++i)  // gather ceil/floor, interpolate
        for (std::size_t j = 0; j < T; ++j) {
          const float x = pos[i * T + j], f = std::floor(x), w = x - f;
          pl[i * T + j] = li[i * NPOS + std::size_t(std::ceil(x))] * w +
                          li[i * NPOS + std::size_t(f)] * (1 - w);
        }
      for (std::size_t i = 0; i < T; ++i)  // attn_logits += pos_logits (causal part)
        for (std::size_t j = 0; j <= i; ++j) p.z[i * T + j] += pl[i * T + j];
    }
    benchmark::DoNotOptimize(p.z.data());
    benchmark::ClobberMemory();
  }
  finish(st, T, (3.0 * T * T + T * NPOS) * sizeof(float));
}

void bm_floor(benchmark::State& st, bool dense) {
  const std::size_t T = static_cast<std::size_t>(st.range(0));
  problem& p = get(T, dense);
  for (auto _ : st) {
    for (std::size_t h = 0; h < H; ++h) {
      restore(st, p);
      for (std::size_t i = 0; i < T; ++i)
        posenc_bench::scale_in_place(p.z.data() + i * T, i + 1, 1.0001f);
    }
    benchmark::DoNotOptimize(p.z.data());
    benchmark::ClobberMemory();
  }
  finish(st, T, 0);
}

// The row kernel alone over one 1024-key row in L1 (gate logits −8, −3 or +3 plus the pattern;
// the row's terms accumulate in x, the gates come from g): ns per key = 1 / items_per_second.
template <class Arch, class C>
void bm_row(benchmark::State& st, float base) {
  constexpr std::size_t n = 1024;
  std::vector<C> g(n), x(n, C(0)), L(NPOS);
  for (std::size_t j = 0; j < n; ++j) g[j] = C(base + posenc_bench::pattern(j));
  for (std::size_t p = 0; p < NPOS; ++p) L[p] = C(1e-3f * posenc_bench::pattern(p + 11));
  for (auto _ : st) {
    benchmark::DoNotOptimize(
        posenc::kernels::cope_row(Arch{}, g.data(), x.data(), n, L.data(), NPOS - 1, C(0)));
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}

// cope/row1024{,_double,_sse4_1,_avx2}/{sparse,middle,dense}: this CPU's widest instruction
// set in float and double, and float on narrower ones the CPU has.
void register_rows() {
  using fn = void (*)(benchmark::State&, float);
  std::vector<std::pair<std::string, fn>> kinds{
      {"row1024", bm_row<posenc::default_arch, float>},
      {"row1024_double", bm_row<posenc::default_arch, double>}};
#if POSENC_HAS_XSIMD
  const auto cpu = xsimd::available_architectures();
#if XSIMD_WITH_SSE4_1
  if (cpu.sse4_1) kinds.emplace_back("row1024_sse4_1", bm_row<xsimd::sse4_1, float>);
#endif
#if XSIMD_WITH_AVX2
  if (cpu.avx2) kinds.emplace_back("row1024_avx2", bm_row<xsimd::avx2, float>);
#endif
#endif
  for (const auto& [kind, f] : kinds)
    for (const auto& [name, base] : {std::pair<const char*, float>{"sparse", -8.0f},
                                     std::pair<const char*, float>{"middle", -3.0f},
                                     std::pair<const char*, float>{"dense", 3.0f}})
      benchmark::RegisterBenchmark(("cope/" + kind + "/" + name).c_str(), f, base);
}

const int registered = [] {
  const bool smoke = posenc_bench::smoke();
  const std::vector<long> sizes =
      smoke ? std::vector<long>{512} : std::vector<long>{512, 2048, 8192};
  for (const bool dense : {true, false}) {
    const std::string regime = dense ? "/dense" : "/sparse";
    for (const long T : sizes) {
      const auto cfg = [&](benchmark::internal::Benchmark* b, bool slow) {
        b->Arg(T)->Unit(benchmark::kMillisecond);
        if (smoke) return;
        if (slow && T >= 8192) {
          b->Iterations(1);
        } else {
          b->MinTime(0.3);
        }
      };
      cfg(benchmark::RegisterBenchmark(("cope/fused" + regime).c_str(), bm_fused, dense), false);
      cfg(benchmark::RegisterBenchmark(("cope/materialised" + regime).c_str(), bm_materialised,
                                       dense),
          true);
      cfg(benchmark::RegisterBenchmark(("floor/inplace" + regime).c_str(), bm_floor, dense), false);
    }
  }
  register_rows();
  return 0;
}();

}  // namespace
