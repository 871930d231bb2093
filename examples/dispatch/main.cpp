// posenc example — runtime dispatch: one binary runs the best RoPE kernels the CPU has.
//
// This file is compiled for the baseline ISA. It constructs the rope and its cache here (their
// constructors are ordinary inline functions; see README §SIMD), asks each per-ISA entry
// whether the CPU can run it, and calls the best one. Then it runs every runnable entry on the
// same bfloat16 q/k tensors and checks they agree: bit for bit among the fused-multiply-add
// instruction sets, and within the rounding bound against the baseline (SSE2 has no FMA, so a
// product rounds once more before the final bfloat16 rounding; see excess()).
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "posenc/rope.hpp"

#include "dispatch.hpp"

// (An alias of its own: on AArch64, <arm_neon.h> declares a global ::bfloat16_t.)
using bf16 = posenc::bfloat16_t;

namespace {
constexpr std::size_t kTokens = 256, kQHeads = 32, kKHeads = 8, kDim = 128;

std::vector<bf16> make(std::size_t n, unsigned seed) {
  std::vector<bf16> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] =
        posenc::to_bfloat16(static_cast<float>((i * 2654435761u + seed) % 2001u) / 1000.0f - 1.0f);
  return v;
}

// SSE2 rounds a·c and b·s separately where FMA rounds once: the float results differ by at
// most 2^-23·(|a·c| + |b·s|) ≤ 2^-22 here (|inputs| ≤ 1, |cos|, |sin| ≤ 1), then each is rounded
// to bfloat16 (half a bfloat16 ulp each). Returns how far past that bound x and y are (≤ 0: ok).
double excess(bf16 x, bf16 y) {
  const double a = posenc::to_float(x), b = posenc::to_float(y);
  int e = 0;
  std::frexp(std::max({std::fabs(a), std::fabs(b), 0x1p-126}), &e);
  const double bf16_ulp = std::ldexp(1.0, e - 8);  // bfloat16: 8 significant bits
  return std::fabs(a - b) - (bf16_ulp + 0x1p-22);
}
}  // namespace

int main() {
  using namespace dispatch_example;
  posenc::rope_config cfg;
  cfg.head_dim = kDim;
  cfg.base = 500000.0;
  const posenc::rope rope(cfg);
  const posenc::rope_cache<float> cache(rope, 4096);  // built here, in the baseline TU

  std::vector<std::int64_t> pos(kTokens);
  std::iota(pos.begin(), pos.end(), std::int64_t{1000});  // a chunk deep into the sequence
  const std::vector<bf16> q0 = make(kTokens * kQHeads * kDim, 1);
  const std::vector<bf16> k0 = make(kTokens * kKHeads * kDim, 7);

  // The CPU checks run here, in the baseline TU (see kernel_entry).
#if POSENC_HAS_XSIMD
  const auto cpu = xsimd::available_architectures();  // CPUID bits (xsimd 8.1 skips XCR0)
  const bool has_avx2 = cpu.fma3_avx2 != 0;
  const bool has_avx512 =
      cpu.avx512f != 0 && cpu.avx512cd != 0 && cpu.avx512dq != 0 && cpu.avx512bw != 0;
#else
  const bool has_avx2 = false, has_avx512 = false;
#endif
  struct candidate {
    const kernel_entry& entry;
    bool runs;
  };
  const candidate entries[] = {{avx512bf16_entry, posenc::cpu_has_avx512bf16()},
                               {avx512_entry, has_avx512},
                               {avx2_entry, has_avx2},
                               {baseline_entry, true}};
  std::printf("posenc runtime dispatch: q %zux%zux%zu, k %zux%zux%zu, bfloat16\n", kTokens, kQHeads,
              kDim, kTokens, kKHeads, kDim);
  std::vector<bf16> ref_q, ref_k;  // the first (best) runnable entry's result
  const char* ref_name = nullptr;
  int failures = 0;
  for (const candidate& c : entries) {
    const kernel_entry& e = c.entry;
    if (e.fn == nullptr || !c.runs) {
      std::printf("  %-26s skipped (%s)\n", e.name,
                  e.fn == nullptr ? "not compiled" : "this CPU lacks it");
      continue;
    }
    std::vector<bf16> q = q0, k = k0;
    e.fn(cache, posenc::make_head_view(q.data(), kTokens, kQHeads, kDim),  // warm-up
         posenc::make_head_view(k.data(), kTokens, kKHeads, kDim), pos.data());
    q = q0;
    k = k0;
    const auto t0 = std::chrono::steady_clock::now();
    e.fn(cache, posenc::make_head_view(q.data(), kTokens, kQHeads, kDim),
         posenc::make_head_view(k.data(), kTokens, kKHeads, kDim), pos.data());
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  %-26s %8.1f us%s\n", e.name, us, ref_name == nullptr ? "  <- selected" : "");
    if (ref_name == nullptr) {
      ref_name = e.name;
      ref_q = q;
      ref_k = k;
    } else if (&e != &baseline_entry) {
      const bool same = std::memcmp(q.data(), ref_q.data(), q.size() * sizeof(bf16)) == 0 &&
                        std::memcmp(k.data(), ref_k.data(), k.size() * sizeof(bf16)) == 0;
      std::printf("  %-26s %s %s\n", "", same ? "bit-identical to" : "DIFFERS from", ref_name);
      failures += same ? 0 : 1;
    } else {
      double worst = -1.0, diff = 0.0;
      for (std::size_t i = 0; i < q.size(); ++i) {
        worst = std::max(worst, excess(q[i], ref_q[i]));
        diff =
            std::max(diff, std::fabs(double(posenc::to_float(q[i])) - posenc::to_float(ref_q[i])));
      }
      for (std::size_t i = 0; i < k.size(); ++i) {
        worst = std::max(worst, excess(k[i], ref_k[i]));
        diff =
            std::max(diff, std::fabs(double(posenc::to_float(k[i])) - posenc::to_float(ref_k[i])));
      }
      std::printf("  %-26s max |difference| %.3g from %s: %s (no FMA here)\n", "", diff, ref_name,
                  worst <= 0.0 ? "within the rounding bound" : "OUTSIDE the rounding bound");
      failures += worst <= 0.0 ? 0 : 1;
    }
  }
  return failures == 0 ? 0 : 1;
}
