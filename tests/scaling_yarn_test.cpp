// posenc tests — YaRN scaling, posenc/scaling/yarn.hpp
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling/linear.hpp>
#include <posenc/scaling/yarn.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc::yarn_scaling;
using posenc::yarn_variant;
using posenc_test::expect_invalid;
using posenc_test::ulp_diff;

yarn_scaling yarn(double s, std::size_t L) {
  yarn_scaling y;
  y.factor = s;
  y.original_max_position = L;
  return y;
}

TEST(ScalingYarn, MatchesOracle) { posenc_test::check_file("yarn"); }

// The exact-mode correction range against the oracle's.
TEST(ScalingYarn, CorrectionRangeMatchesOracle) {
  for (const auto& c : posenc_test::load_cases("yarn")) {
    const auto r = posenc_test::yarn_from(c).correction_range(posenc::rope_dims{
        static_cast<std::size_t>(c.head_dim), static_cast<std::size_t>(c.rotary_dim), c.base});
    EXPECT_LE(ulp_diff(r.low, c.extra[0]), 1u) << c.where();
    EXPECT_LE(ulp_diff(r.high, c.extra[1]), 1u) << c.where();
  }
}

// Numbers worked out from HF transformers modeling_rope_utils.py `_compute_yarn_parameters` and
// ggml ops.cpp `ggml_rope_yarn_corr_dims` (the YaRN paper's defaults: beta_fast 32, beta_slow 1).
TEST(ScalingYarn, SpecNumbers) {
  using D = posenc::rope_dims;
  auto range = [](const yarn_scaling& y, D d) { return y.correction_range(d); };
  auto r = range(yarn(4, 4096), D{128, 128, 1e4});
  EXPECT_EQ(r.low, 20.0);
  EXPECT_EQ(r.high, 46.0);
  EXPECT_NEAR(yarn(4, 4096).correction_dim(D{128, 128, 1e4}, 32), 20.944, 5e-4);
  EXPECT_NEAR(yarn(4, 4096).correction_dim(D{128, 128, 1e4}, 1), 45.027, 5e-4);
  r = range(yarn(4, 4096), D{64, 64, 5e5});
  EXPECT_EQ(r.low, 7.0);
  EXPECT_EQ(r.high, 16.0);
  auto b = yarn(4, 4096);
  b.beta_fast = 16;
  b.beta_slow = 2;
  r = range(b, D{128, 128, 1e4});
  EXPECT_EQ(r.low, 25.0);
  EXPECT_EQ(r.high, 41.0);
  auto gptoss = yarn(32, 4096);
  gptoss.truncate = false;
  r = range(gptoss, D{64, 64, 150000});
  EXPECT_NEAR(r.low, 8.0928, 5e-5);
  EXPECT_NEAR(r.high, 17.3980, 5e-5);
  // §4.4(1): s = 16, d = 64, truncate = false: HF [10.472, 22.513], llama.cpp [10, 23].
  auto t = yarn(16, 4096);
  t.truncate = false;
  r = range(t, D{64, 64, 1e4});
  EXPECT_NEAR(r.low, 10.472, 5e-4);
  EXPECT_NEAR(r.high, 22.513, 5e-4);
  t.variant = yarn_variant::llama_cpp;
  r = range(t, D{64, 64, 1e4});
  EXPECT_EQ(r.low, 10.0);
  EXPECT_EQ(r.high, 23.0);
  // attention factors
  const D d{128, 128, 1e4};
  EXPECT_NEAR(yarn(4, 4096).attention_factor(d), 1.1386294361, 1e-10);
  EXPECT_NEAR(yarn(16, 4096).attention_factor(d), 1.2772588722, 1e-10);
  EXPECT_NEAR(yarn(32, 4096).attention_factor(d), 1.3465735903, 1e-10);
  EXPECT_NEAR(yarn(40, 4096).attention_factor(d), 1.3688879454, 1e-10);
  EXPECT_NEAR(posenc::yarn_get_mscale(40.0), 1.3688879454, 1e-10);
  EXPECT_EQ(posenc::yarn_get_mscale(0.5), 1.0);
  // DeepSeek-V2/V3: mscale = mscale_all_dim → exactly 1; softmax gets get_mscale(s, 1)².
  auto ds = yarn(40, 4096);
  ds.mscale = 1.0;
  ds.mscale_all_dim = 1.0;
  EXPECT_EQ(ds.attention_factor(d), 1.0);
  EXPECT_NEAR(ds.softmax_scale_multiplier(), 1.3688879454 * 1.3688879454, 1e-9);
  // §4.4(6): s = 4, mscale 0.707, mscale_all_dim 1: HF 0.96433, llama.cpp 1.0.
  auto m = yarn(4, 4096);
  m.mscale = 0.707;
  m.mscale_all_dim = 1.0;
  EXPECT_NEAR(m.attention_factor(d), 0.96433, 5e-6);
  m.variant = yarn_variant::llama_cpp;
  EXPECT_EQ(m.attention_factor(d), 1.0);
}

TEST(ScalingYarn, AttentionFactorRules) {
  const posenc::rope_dims d{64, 64, 1e4};
  auto y = yarn(40, 4096);
  y.mscale = 1.0;  // mscale alone is ignored (HF)
  EXPECT_EQ(y.attention_factor(d), posenc::yarn_get_mscale(40));
  y.mscale_all_dim = 0.0;  // zero counts as unset (Python truthiness)
  EXPECT_EQ(y.attention_factor(d), posenc::yarn_get_mscale(40));
  y.explicit_attention_factor = 0.5;  // explicit wins (HF) ...
  EXPECT_EQ(y.attention_factor(d), 0.5);
  y.variant = yarn_variant::llama_cpp;  // ... and multiplies in llama.cpp
  EXPECT_EQ(y.attention_factor(d), 0.5 * posenc::yarn_get_mscale(40));
  // folding: cos/sin carry the factor unless disabled
  posenc::rope_config cfg{64};
  const posenc::rope folded(cfg, yarn(4, 4096));
  cfg.fold_attention_factor = false;
  const posenc::rope unfolded(cfg, yarn(4, 4096));
  EXPECT_EQ(folded.magnitude(), folded.attention_factor());
  EXPECT_EQ(unfolded.magnitude(), 1.0);
  EXPECT_EQ(unfolded.attention_factor(), folded.attention_factor());
  const auto cs = folded.cos_sin<double>(0, 3);
  EXPECT_EQ(cs.first, folded.attention_factor());
  EXPECT_EQ(unfolded.cos_sin<double>(0, 3).first, 1.0);
}

// Pairs below the correction range keep θ_k bit for bit; pairs above get θ_k / s.
TEST(ScalingYarn, PairsOutsideTheRampAreUnchangedOrInterpolated) {
  for (auto variant : {yarn_variant::hf, yarn_variant::llama_cpp})
    for (bool trunc : {true, false})
      for (double base : {1e4, 5e5}) {
        const posenc::rope_config cfg{128, 128, base};
        auto y = yarn(16, 4096);
        y.truncate = trunc;
        y.variant = variant;
        const auto rg = y.correction_range(posenc::rope_dims{128, 128, base});
        const posenc::rope plain(cfg), lin(cfg, posenc::linear_scaling{16}), yr(cfg, y);
        std::size_t below = 0, above = 0;
        for (std::size_t k = 0; k < plain.pairs(); ++k) {
          if (static_cast<double>(k) <= rg.low) {
            ++below;
            EXPECT_EQ(yr.inv_freq(k), plain.inv_freq(k)) << k;
            EXPECT_EQ(yr.inv_freq_f32(k), plain.inv_freq_f32(k)) << k;
          } else if (static_cast<double>(k) >= rg.high) {
            ++above;
            EXPECT_LE(ulp_diff(yr.inv_freq(k), lin.inv_freq(k)), 1u) << k;
          } else {
            EXPECT_LT(yr.inv_freq(k), plain.inv_freq(k)) << k;
            EXPECT_GT(yr.inv_freq(k), lin.inv_freq(k)) << k;
          }
        }
        EXPECT_GT(below, 0u);
        EXPECT_GT(above, 0u);
      }
}

// Exact mode: bit for bit. hf_f32 mode follows HF's float32 arithmetic, where s = 1 still
// blends RN32(interp·ramp) + RN32(extrap·(1 − ramp)) with interp == extrap: within 1 ulp of the
// unscaled ladder inside the ramp, equal outside it.
TEST(ScalingYarn, FactorOneIsPlainRope) {
  for (auto variant : {yarn_variant::hf, yarn_variant::llama_cpp})
    for (bool trunc : {true, false})
      for (std::size_t r : {32u, 64u, 128u}) {
        const posenc::rope_config cfg{128, r, 5e5};
        auto y = yarn(1, 4096);
        y.truncate = trunc;
        y.variant = variant;
        y.mscale = 0.707;
        y.mscale_all_dim = 1.0;
        const posenc::rope a(cfg, y), b(cfg);
        for (std::size_t k = 0; k < a.pairs(); ++k) {
          EXPECT_EQ(a.inv_freq(k), b.inv_freq(k)) << k;
          EXPECT_LE(ulp_diff(a.inv_freq_f32(k), b.inv_freq_f32(k)), 1u) << k;
        }
        EXPECT_EQ(a.attention_factor(), 1.0);
      }
}

TEST(ScalingYarn, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{64};
  auto bad = [&](auto mutate, const char* field, const char* value) {
    auto y = yarn(4, 4096);
    mutate(y);
    expect_invalid([&] { posenc::rope(cfg, y); }, field, value);
  };
  bad([](yarn_scaling& y) { y.factor = 0.5; }, "factor", "0.5");
  bad([](yarn_scaling& y) { y.factor = std::nan(""); }, "factor", "nan");
  bad([](yarn_scaling& y) { y.original_max_position = 0; }, "original_max_position", "0");
  bad([](yarn_scaling& y) { y.beta_fast = 1.0; }, "beta_fast", "1");
  bad([](yarn_scaling& y) { y.beta_fast = 0.5; }, "beta_fast", "0.5");
  bad([](yarn_scaling& y) { y.beta_slow = 0.0; }, "beta_slow", "0");
  bad([](yarn_scaling& y) { y.beta_slow = -1.0; }, "beta_slow", "-1");
  bad([](yarn_scaling& y) { y.beta_fast = std::numeric_limits<double>::infinity(); }, "beta_fast",
      "inf");
  bad([](yarn_scaling& y) { y.explicit_attention_factor = 0.0; }, "explicit_attention_factor", "0");
  bad([](yarn_scaling& y) { y.explicit_attention_factor = std::nan(""); },
      "explicit_attention_factor", "nan");
  bad([](yarn_scaling& y) { y.mscale = -1.0; }, "mscale", "-1");
  bad([](yarn_scaling& y) { y.mscale_all_dim = std::nan(""); }, "mscale_all_dim", "nan");
  bad([](yarn_scaling& y) { y.variant = static_cast<yarn_variant>(7); }, "variant", "7");
}

}  // namespace
