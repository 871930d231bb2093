// posenc example — runtime dispatch: one binary runs the best RoPE kernels the CPU has, through
// the compiled library posenc::dispatch (posenc/dispatch.hpp; its per-ISA translation units are
// in src/dispatch/).
//
// This file is compiled for the baseline ISA. It constructs the rope and its cache here (their
// constructors are ordinary inline functions; see README §SIMD), prints the architecture the
// library selected, then forces each of the library's architectures this CPU runs in turn on
// the same bfloat16 q/k tensors and checks they agree: bit for bit among the fused-multiply-add
// instruction sets, and within the rounding bound against the baseline (SSE2 has no FMA, so a
// product rounds once more before the final bfloat16 rounding; see excess()).
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "posenc/dispatch.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"

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

namespace {
// Rotates copies of q0/k0 on the architecture `name` (forced); returns the microseconds.
double run(const char* name, const posenc::rope_cache<float>& cache, const std::vector<bf16>& q0,
           const std::vector<bf16>& k0, const std::vector<std::int64_t>& pos, std::vector<bf16>& q,
           std::vector<bf16>& k) {
  posenc::dispatch::force_arch(name);
  double us = 0.0;
  for (int rep = 0; rep < 2; ++rep) {  // the first is a warm-up
    q = q0;
    k = k0;
    const auto t0 = std::chrono::steady_clock::now();
    posenc::dispatch::apply(cache, posenc::make_head_view(q.data(), kTokens, kQHeads, kDim),
                            posenc::make_head_view(k.data(), kTokens, kKHeads, kDim), pos.data());
    us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  return us;
}

// How far q/k are from the reference outside the no-FMA rounding bound (≤ 0: within).
double worst_excess(const std::vector<bf16>& x, const std::vector<bf16>& ref) {
  double worst = -1.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, excess(x[i], ref[i]));
  return worst;
}
}  // namespace

int main() {
  posenc::rope_config cfg;
  cfg.head_dim = kDim;
  cfg.base = 500000.0;
  const posenc::rope rope(cfg);
  const posenc::rope_cache<float> cache(rope, 4096);  // built here, in the baseline TU

  std::vector<std::int64_t> pos(kTokens);
  std::iota(pos.begin(), pos.end(), std::int64_t{1000});  // a chunk deep into the sequence
  const std::vector<bf16> q0 = make(kTokens * kQHeads * kDim, 1);
  const std::vector<bf16> k0 = make(kTokens * kKHeads * kDim, 7);

  std::printf("posenc runtime dispatch: q %zux%zux%zu, k %zux%zux%zu, bfloat16; selected: %s\n",
              kTokens, kQHeads, kDim, kTokens, kKHeads, kDim, posenc::dispatch::arch_name());
  const char* const names[] = {"avx512bf16", "avx512bw", "avx2f16c", "fma3+avx2", "baseline"};
  std::vector<bf16> ref_q, ref_k, q, k;
  std::string ref_name;
  int failures = 0;
  for (const char* name : names) {
    if (!posenc::dispatch::arch_available(name)) {
      std::printf("  %-26s skipped (not compiled in, or this CPU lacks it)\n", name);
      continue;
    }
    const double us = run(name, cache, q0, k0, pos, q, k);
    const std::string actual = posenc::dispatch::arch_name();
    std::printf("  %-26s %8.1f us%s\n", actual.c_str(), us, ref_name.empty() ? "  <- best" : "");
    if (ref_name.empty()) {
      ref_name = actual;
      ref_q = q;
      ref_k = k;
    } else if (actual != "sse2" && actual != "scalar") {  // FMA: the same bits
      const bool same = std::memcmp(q.data(), ref_q.data(), q.size() * sizeof(bf16)) == 0 &&
                        std::memcmp(k.data(), ref_k.data(), k.size() * sizeof(bf16)) == 0;
      std::printf("  %-26s %s %s\n", "", same ? "bit-identical to" : "DIFFERS from",
                  ref_name.c_str());
      failures += same ? 0 : 1;
    } else {
      const double worst = std::max(worst_excess(q, ref_q), worst_excess(k, ref_k));
      std::printf("  %-26s %s from %s (no FMA here)\n", "",
                  worst <= 0.0 ? "within the rounding bound" : "OUTSIDE the rounding bound",
                  ref_name.c_str());
      failures += worst <= 0.0 ? 0 : 1;
    }
  }
  posenc::dispatch::force_arch(nullptr);
  return failures == 0 ? 0 : 1;
}
