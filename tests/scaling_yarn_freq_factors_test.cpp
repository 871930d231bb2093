// posenc tests — YaRN over per-pair divisors, posenc/scaling/yarn_freq_factors.hpp, against a
// long double oracle written here from ggml's rope (ggml_rope_cache_init → rope_yarn: theta
// divided by c_k, then YaRN's blend by the ramp over ggml_rope_yarn_corr_dims; HF's
// _compute_yarn_parameters for the ramp's bounds and get_mscale for the magnitude).
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling/freq_factors.hpp>
#include <posenc/scaling/yarn.hpp>
#include <posenc/scaling/yarn_freq_factors.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc::freq_factors_scaling;
using posenc::yarn_freq_factors_scaling;
using posenc::yarn_scaling;
using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;

yarn_scaling qwen_yarn() {  // Qwen2.5's model card: factor 4 over 32768 tokens
  yarn_scaling y;
  y.factor = 4.0;
  y.original_max_position = 32768;
  return y;
}

/// Llama-3.1-like divisors (1 for short wavelengths, up to 8 for long), r/2 entries.
std::vector<double> divisors(std::size_t pairs) {
  std::vector<double> c(pairs);
  for (std::size_t k = 0; k < pairs; ++k)
    c[k] = 1.0 + 7.0 * static_cast<double>(k * k) / static_cast<double>(pairs * pairs);
  return c;
}

/// θ'_k = (b^(-2k/r) / c_k)·(1 − γ_k (1 − 1/s)), all in long double (truncated bounds).
long double oracle(double base, std::size_t r, const yarn_scaling& y, double c, std::size_t k) {
  const long double R = static_cast<long double>(r), L = y.original_max_position;
  const long double two_pi = 6.283185307179586476925286766559L;
  auto corr = [&](long double n) {
    return R * std::log(L / (n * two_pi)) / (2.0L * std::log(static_cast<long double>(base)));
  };
  const long double lo = std::max(std::floor(corr(y.beta_fast)), 0.0L);
  const long double hi = std::min(std::ceil(corr(y.beta_slow)), R - 1.0L);
  const long double w = lo == hi ? 0.001L : hi - lo;
  const long double g = std::min(std::max((static_cast<long double>(k) - lo) / w, 0.0L), 1.0L);
  const long double theta = std::pow(static_cast<long double>(base), -2.0L * k / R);
  return theta / c * (1.0L - g * (1.0L - 1.0L / static_cast<long double>(y.factor)));
}

// Exact mode rounds the long double value once: within half an ulp (≤ 2^-53 relative), plus
// the difference of two long double evaluations (~1e-18 relative; 1e-17 allowed).
TEST(ScalingYarnFreqFactors, MatchesTheLongDoubleOracle) {
  for (const double base : {1e4, 5e5, 1e6})
    for (const std::size_t r : {64u, 128u}) {
      const yarn_freq_factors_scaling p{qwen_yarn(), divisors(r / 2)};
      const posenc::rope rope(posenc::rope_config{r, r, base}, p);
      for (std::size_t k = 0; k < r / 2; ++k) {
        const long double want = oracle(base, r, p.yarn, p.divisors[k], k);
        EXPECT_LE(std::fabs(static_cast<long double>(rope.inv_freq(k)) - want),
                  std::ldexp(std::fabs(want), -53) + 1e-17L * std::fabs(want))
            << "base " << base << " r " << r << " k " << k;
      }
      EXPECT_EQ(rope.attention_factor(), posenc::yarn_get_mscale(4.0));  // c leaves it alone
    }
}

TEST(ScalingYarnFreqFactors, ReducesToEachPart) {
  const posenc::rope_config cfg{128, 128, 1e6};
  // all divisors 1: YaRN alone, bit for bit in both precisions
  expect_same_tables(
      posenc::rope(cfg, yarn_freq_factors_scaling{qwen_yarn(), std::vector<double>(64, 1.0)}),
      posenc::rope(cfg, qwen_yarn()), "divisors 1");
  // YaRN factor 1 (no interpolation): the divisors alone
  yarn_scaling none = qwen_yarn();
  none.factor = 1.0;
  expect_same_tables(posenc::rope(cfg, yarn_freq_factors_scaling{none, divisors(64)}),
                     posenc::rope(cfg, freq_factors_scaling{divisors(64)}), "factor 1");
  // hf_f32: RN32(yarn's f32 frequency / RN32(c_k))
  const yarn_freq_factors_scaling p{qwen_yarn(), divisors(64)};
  const posenc::rope y(cfg, qwen_yarn()), both(cfg, p);
  for (std::size_t k = 0; k < 64; ++k)
    EXPECT_EQ(both.inv_freq_f32(k), y.inv_freq_f32(k) / static_cast<float>(p.divisors[k])) << k;
  EXPECT_STREQ(p.name(), "yarn_freq_factors");
}

TEST(ScalingYarnFreqFactors, LlamaCppVariantKeepsItsRules) {
  yarn_scaling y = qwen_yarn();
  y.variant = posenc::yarn_variant::llama_cpp;
  y.explicit_attention_factor = 0.5;  // GGUF attn_factor multiplies
  const yarn_freq_factors_scaling p{y, divisors(64)};
  const posenc::rope r(posenc::rope_config{128, 128, 1e6}, p);
  EXPECT_EQ(r.attention_factor(), 0.5 * posenc::yarn_get_mscale(4.0));
  EXPECT_STREQ(p.name(), "yarn_llama_cpp_freq_factors");
}

TEST(ScalingYarnFreqFactors, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{64};
  expect_invalid(
      [&] {
        posenc::rope(cfg, yarn_freq_factors_scaling{qwen_yarn(), divisors(31)});
      },
      "divisors.size()", "31");
  std::vector<double> c = divisors(32);
  c[5] = -1.0;
  expect_invalid(
      [&] {
        posenc::rope(cfg, yarn_freq_factors_scaling{qwen_yarn(), c});
      },
      "divisors[5]", "-1");
  yarn_scaling bad = qwen_yarn();
  bad.factor = 0.5;
  expect_invalid(
      [&] {
        posenc::rope(cfg, yarn_freq_factors_scaling{bad, divisors(32)});
      },
      "factor", "0.5");
  // each part in range, the product not: θ_31 / (1e300 · 1e30) underflows in float and double
  yarn_scaling huge = qwen_yarn();
  huge.factor = 1e30;
  std::vector<double> big(32, 1.0);
  big[31] = 1e300;
  expect_invalid([&] { posenc::rope(cfg, yarn_freq_factors_scaling{huge, big}); }, "factor");
}

}  // namespace
