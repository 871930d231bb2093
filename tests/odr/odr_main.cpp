// posenc ODR test — main side. odr_sse.cpp (baseline flags) and odr_avx2.cpp (-mavx2 -mfma)
// both include <posenc/posenc.hpp> and call the same public templates with their default
// architecture; this file checks that each TU ran its own instantiations (the linker merged
// nothing that differs) and that both compute RoPE correctly.
// SPDX-License-Identifier: Apache-2.0
//
// Why a merge would show: every posenc function that touches xsimd::batch is a template on the
// architecture, so the two TUs instantiate different symbols (rope::apply<sse2, ...> and
// rope::apply<fma3<avx2>, ...>). The TUs call them through volatile pointers (odr_body.hpp),
// so they run the linker's copy, not an inlined one. A function that touched xsimd without
// being a template on Arch would be one weak symbol with two bodies; the linker would keep one
// and both TUs would run it. Then either the reported lane counts / names would agree, or the
// rotated bits would: the sse2 kernel rounds each product (as the scalar reference does) while
// the fma3<avx2> kernel fuses a·c − RN(b·s) into one rounding, so their outputs differ in some
// last bits, and that difference is asserted.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/posenc.hpp>

#include "odr/odr_common.hpp"
#include "support/formats.hpp"
#include "support/tolerance.hpp"

#ifndef POSENC_ODR_AVX2_FLAGS
#error "POSENC_ODR_AVX2_FLAGS must be defined by tests/odr/CMakeLists.txt"
#endif

namespace {

using namespace posenc_odr;

/// One TU's (or main's) results for one layout.
struct results {
  std::vector<float> q_apply = std::vector<float>(kQ), k_apply = std::vector<float>(kK);
  std::vector<float> q_cache = std::vector<float>(kQ), k_cache = std::vector<float>(kK);
  std::vector<float> c = std::vector<float>(kTheta), s = std::vector<float>(kTheta);
  tu_report report{};
};

struct inputs {
  std::vector<float> q, k;
  std::vector<double> theta;
  inputs() : q(kQ), k(kK), theta(kTheta) {
    std::mt19937_64 rng(0x0d2);
    std::uniform_real_distribution<float> x(-2.0f, 2.0f);
    for (float& v : q) v = x(rng);
    for (float& v : k) v = x(rng);
    std::uniform_real_distribution<double> t(-1e5, 1e5);
    for (double& v : theta) v = t(rng);
    theta[0] = 0.0;
    theta[1] = 3.0e9;  // k·π/2 range up to 2^31
  }
};
const inputs& input() {
  static const inputs in;
  return in;
}

posenc::rope make_rope(bool interleaved) {
  posenc::rope_config cfg;
  cfg.head_dim = kHeadDim;
  cfg.rotary_dim = kRotary;
  cfg.base = kBase;
  cfg.layout = interleaved ? posenc::rope_layout::interleaved : posenc::rope_layout::half_split;
  return posenc::rope(cfg);
}

/// Runs one TU's entry on objects built here, in the baseline TU (README §SIMD).
results run_tu(tu_report (*fn)(const tu_buffers&), bool interleaved) {
  const inputs& in = input();
  const posenc::rope rope = make_rope(interleaved);
  posenc::rope_cache<float> cache(rope, kCacheInitial);
  cache.reserve(kCacheCapacity);  // grown after construction, as an engine would
  results r;
  const tu_buffers b{interleaved,      &rope,
                     &cache,           in.q.data(),
                     in.k.data(),      r.q_apply.data(),
                     r.k_apply.data(), r.q_cache.data(),
                     r.k_cache.data(), in.theta.data(),
                     r.c.data(),       r.s.data()};
  r.report = fn(b);
  return r;
}

/// The scalar_arch results, computed here.
results run_scalar(bool interleaved) {
  const inputs& in = input();
  const posenc::rope rope = make_rope(interleaved);
  results r;
  r.q_apply = in.q;
  r.k_apply = in.k;
  rope.apply<posenc::scalar_arch>(
      posenc::make_head_view(r.q_apply.data(), kTokens, kQHeads, kHeadDim),
      posenc::make_head_view(r.k_apply.data(), kTokens, kKHeads, kHeadDim), kPositions);
  posenc::kernels::sincos_ref<float>(in.theta.data(), r.c.data(), r.s.data(), kTheta);
  r.report = {1, 1, posenc::scalar_arch::name(), false};
  return r;
}

bool cpu_runs_avx2_fma() {
#if POSENC_HAS_XSIMD && POSENC_ODR_AVX2_FLAGS
  return xsimd::available_architectures().fma3_avx2 != 0;
#else
  return false;
#endif
}

using posenc_test::same_bits;

/**
 * Element-wise comparison of two results of the same rotation.
 *
 * Both sides rotate by the same float coefficients: the scalar definition rope.cos_sin<float>
 * (every path gives these bits: sincos is bit-identical across archs, the cache holds its
 * output). Each side is then within rotation_bound(scale, u = 2^-24, 0) = 2u·scale of the
 * exact rotation by those coefficients, scale = |a·c| + |b·s| (tolerance.hpp), so the two
 * differ by at most twice that. Pass-through channels must be the input, bit for bit.
 * Returns the number of elements whose bits differ.
 */
std::size_t compare(const posenc::rope& rope, const std::vector<float>& in,
                    const std::vector<float>& x, const std::vector<float>& y, std::size_t heads,
                    const std::string& what) {
  const bool il = rope.layout() == posenc::rope_layout::interleaved;
  const std::size_t pairs = kRotary / 2;
  std::size_t differing = 0, bad = 0;
  for (std::size_t t = 0; t < kTokens; ++t) {
    for (std::size_t h = 0; h < heads; ++h) {
      const std::size_t row = (t * heads + h) * kHeadDim;
      for (std::size_t k = 0; k < pairs; ++k) {
        const auto cs = rope.cos_sin<float>(kPositions[t], k);
        const std::size_t ia = row + (il ? 2 * k : k), ib = row + (il ? 2 * k + 1 : k + pairs);
        const double a = in[ia], b = in[ib], c = cs.first, s = cs.second;
        const double scale_a = std::fabs(a * c) + std::fabs(b * s);
        const double scale_b = std::fabs(a * s) + std::fabs(b * c);
        const double u = posenc_test::unit_roundoff(24);
        const double ba = 2 * posenc_test::rotation_bound(scale_a, u, 0);
        const double bb = 2 * posenc_test::rotation_bound(scale_b, u, 0);
        const double da = std::fabs(static_cast<double>(x[ia]) - y[ia]);
        const double db = std::fabs(static_cast<double>(x[ib]) - y[ib]);
        if ((da > ba || db > bb) && ++bad <= 8)
          ADD_FAILURE() << what << ": token " << t << " head " << h << " pair " << k << ": ("
                        << x[ia] << ", " << x[ib] << ") vs (" << y[ia] << ", " << y[ib] << ")";
        differing += !same_bits(x[ia], y[ia]) + !same_bits(x[ib], y[ib]);
      }
      for (std::size_t i = kRotary; i < kHeadDim; ++i) {
        if ((!same_bits(x[row + i], in[row + i]) || !same_bits(y[row + i], in[row + i])) &&
            ++bad <= 8)
          ADD_FAILURE() << what << ": pass-through channel " << i << " changed";
      }
    }
  }
  EXPECT_EQ(bad, 0u) << what;
  return differing;
}

std::size_t compare_all(bool interleaved, const results& x, const results& y,
                        const std::string& what) {
  const posenc::rope rope = make_rope(interleaved);
  const std::string tag = what + (interleaved ? " (interleaved)" : " (half_split)");
  return compare(rope, input().q, x.q_apply, y.q_apply, kQHeads, tag + " q") +
         compare(rope, input().k, x.k_apply, y.k_apply, kKHeads, tag + " k");
}

/// Within one TU: cache path == on-the-fly path, and sincos == sincos_ref, bit for bit.
void check_self_consistent(const results& r, const results& scalar, const char* who) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < kQ; ++i) bad += !same_bits(r.q_apply[i], r.q_cache[i]);
  for (std::size_t i = 0; i < kK; ++i) bad += !same_bits(r.k_apply[i], r.k_cache[i]);
  EXPECT_EQ(bad, 0u) << who << ": rope_cache::apply != rope::apply";
  std::size_t bad_sc = 0;
  for (std::size_t i = 0; i < kTheta; ++i)
    bad_sc += !same_bits(r.c[i], scalar.c[i]) || !same_bits(r.s[i], scalar.s[i]);
  EXPECT_EQ(bad_sc, 0u) << who << ": kernels::sincos != kernels::sincos_ref";
}

TEST(Odr, EachTranslationUnitReportsItsOwnArchitecture) {
  const results sse = run_tu(&odr_sse_run, false);
#if POSENC_ODR_AVX2_FLAGS
  EXPECT_STREQ(sse.report.arch, "sse2");
  EXPECT_EQ(sse.report.lanes_float, 4u);
  EXPECT_EQ(sse.report.lanes_double, 2u);
  EXPECT_FALSE(sse.report.compiled_with_avx2);
  if (cpu_runs_avx2_fma()) {
    const results avx2 = run_tu(&odr_avx2_run, false);
    EXPECT_TRUE(avx2.report.compiled_with_avx2);
    EXPECT_STREQ(avx2.report.arch, "fma3+avx2");
    EXPECT_EQ(avx2.report.lanes_float, 8u);
    EXPECT_EQ(avx2.report.lanes_double, 4u);
  } else {
    std::cout << "[ note ] this CPU has no AVX2+FMA: the AVX2 TU was built but not run\n";
  }
#else
  // No -mavx2 TU (no xsimd, not x86, or the compiler refused the flags): both TUs are built
  // like this one, and report what this TU's default arch is.
  const results other = run_tu(&odr_avx2_run, false);
  for (const results* r : {&sse, &other}) {
    EXPECT_STREQ(r->report.arch, posenc::arch_name<>());
    EXPECT_EQ(r->report.lanes_float, posenc::lane_count<float>());
    EXPECT_EQ(r->report.lanes_double, posenc::lane_count<double>());
  }
#endif
}

TEST(Odr, BothTranslationUnitsRotateCorrectlyWithTheirOwnKernels) {
  for (bool interleaved : {false, true}) {
    const results scalar = run_scalar(interleaved);
    const results sse = run_tu(&odr_sse_run, interleaved);
    check_self_consistent(sse, scalar, "sse TU");
    const std::size_t sse_vs_scalar = compare_all(interleaved, sse, scalar, "sse TU vs scalar");
    if (cpu_runs_avx2_fma() || !POSENC_ODR_AVX2_FLAGS) {
      const results avx2 = run_tu(&odr_avx2_run, interleaved);
      check_self_consistent(avx2, scalar, "avx2 TU");
      compare_all(interleaved, avx2, scalar, "avx2 TU vs scalar");
      const std::size_t avx2_vs_sse = compare_all(interleaved, avx2, sse, "avx2 TU vs sse TU");
#if POSENC_ODR_AVX2_FLAGS
      // sse2 has no FMA: its kernel rounds like the scalar reference, bit for bit. The
      // fma3<avx2> kernel fuses, so some last bits differ: the TUs ran different code.
      EXPECT_EQ(sse_vs_scalar, 0u) << "sse2 kernel != scalar reference";
      EXPECT_GT(avx2_vs_sse, 0u) << "the AVX2 TU produced the sse2 TU's bits: merged code?";
      std::cout << "[ measured ] " << (interleaved ? "interleaved" : "half_split")
                << ": AVX2 TU differs from SSE TU in " << avx2_vs_sse << " of " << kQ + kK
                << " elements (last-bit FMA differences)\n";
#else
      EXPECT_EQ(avx2_vs_sse, 0u) << "both TUs were built with the same flags";
      (void)sse_vs_scalar;
#endif
    }
  }
}

}  // namespace
