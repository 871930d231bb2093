// posenc tests — properties shared by every scaling policy (posenc/scaling.hpp): factor 1 is
// plain RoPE, names, and "the hot path does not depend on the policy" (a scaled rope rotates
// with exactly the coefficients its table gives, cached or on the fly).
// SPDX-License-Identifier: Apache-2.0
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/scaling.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc_test::expect_same_tables;

posenc::yarn_scaling yarn(double s, posenc::yarn_variant v = posenc::yarn_variant::hf) {
  posenc::yarn_scaling y;
  y.factor = s;
  y.original_max_position = 4096;
  y.variant = v;
  return y;
}
posenc::longrope_scaling longrope(std::size_t n, double f, double s) {
  posenc::longrope_scaling p;
  p.short_factor.assign(n, f);
  p.long_factor.assign(n, f);
  p.original_max_position = 4096;
  p.factor = s;
  p.current_length = 5000;
  return p;
}

/// Rotates the same random head with two ropes; returns true if the outputs are bit-identical.
bool same_rotation(const posenc::rope& a, const posenc::rope& b, std::int64_t pos) {
  std::mt19937 rng(static_cast<unsigned>(pos));
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> x(a.head_dim() * 4);
  for (float& v : x) v = u(rng);
  std::vector<float> ya = x, yb = x;
  std::vector<std::int64_t> p = {pos, pos + 1, 7 * pos + 3, 0};
  a.apply(posenc::make_head_view(ya.data(), 4, 1, a.head_dim()), p.data());
  b.apply(posenc::make_head_view(yb.data(), 4, 1, b.head_dim()), p.data());
  return ya == yb;
}

// Every policy with its neutral parameters is plain RoPE: same tables (exact and HF float32
// modes; YaRN's float32 blend is the one exception, within 1 ulp, see scaling_yarn_test) and
// bit-identical rotations.
TEST(Scaling, FactorOneIsPlainRopeForEveryPolicy) {
  for (double base : {1e4, 5e5})
    for (std::size_t r : {32u, 64u, 128u})
      for (auto prec : {posenc::rope_precision::exact, posenc::rope_precision::hf_f32}) {
        posenc::rope_config cfg{128, r, base};
        cfg.precision = prec;
        const posenc::rope plain(cfg);
        const std::size_t n = r / 2;
        posenc::llama3_scaling l3;
        l3.factor = 1.0;
        const std::vector<std::pair<std::string, posenc::rope>> scaled = {
            {"none", posenc::rope(cfg, posenc::no_scaling{})},
            {"linear", posenc::rope(cfg, posenc::linear_scaling{1.0})},
            {"ntk", posenc::rope(cfg, posenc::ntk_scaling{1.0})},
            {"dynamic", posenc::rope(cfg, posenc::dynamic_ntk_scaling{1.0, 4096, 4096, 0})},
            {"dynamic s=8 below L0",
             posenc::rope(cfg, posenc::dynamic_ntk_scaling{8.0, 4096, 100, 0})},
            {"llama3", posenc::rope(cfg, l3)},
            {"longrope", posenc::rope(cfg, longrope(n, 1.0, 1.0))},
            {"freq_factors",
             posenc::rope(cfg, posenc::freq_factors_scaling{std::vector<double>(n, 1.0)})},
            {"yarn_llama_cpp exact", posenc::rope(posenc::rope_config{128, r, base},
                                                  yarn(1.0, posenc::yarn_variant::llama_cpp))},
            {"yarn exact", posenc::rope(posenc::rope_config{128, r, base}, yarn(1.0))},
        };
        for (const auto& s : scaled) {
          if (s.first.find("exact") != std::string::npos && prec != posenc::rope_precision::exact)
            continue;
          const posenc::rope ref(s.second.config());
          if (s.first.find("yarn") == std::string::npos) {
            expect_same_tables(s.second, ref, s.first);
          } else {  // exact-mode tables only (see above)
            for (std::size_t k = 0; k < ref.pairs(); ++k)
              EXPECT_EQ(s.second.inv_freq(k), ref.inv_freq(k)) << s.first << " k=" << k;
          }
          EXPECT_EQ(s.second.attention_factor(), 1.0) << s.first;
          EXPECT_TRUE(same_rotation(s.second, ref, 12345)) << s.first;
        }
        (void)plain;
      }
}

TEST(Scaling, Names) {
  const posenc::rope_config cfg{64};
  EXPECT_EQ(posenc::rope(cfg).scaling_name(), "none");
  EXPECT_EQ(posenc::rope(cfg, posenc::linear_scaling{2}).scaling_name(), "linear");
  EXPECT_EQ(posenc::rope(cfg, posenc::ntk_scaling{2}).scaling_name(), "ntk");
  EXPECT_EQ(posenc::rope(cfg, posenc::dynamic_ntk_scaling{2, 4096}).scaling_name(), "dynamic");
  EXPECT_EQ(posenc::rope(cfg, yarn(2)).scaling_name(), "yarn");
  EXPECT_EQ(posenc::rope(cfg, yarn(2, posenc::yarn_variant::llama_cpp)).scaling_name(),
            "yarn_llama_cpp");
  EXPECT_EQ(posenc::rope(cfg, posenc::llama3_scaling{}).scaling_name(), "llama3");
  EXPECT_EQ(posenc::rope(cfg, longrope(32, 2.0, 8.0)).scaling_name(), "longrope");
  EXPECT_EQ(
      posenc::rope(cfg, posenc::freq_factors_scaling{std::vector<double>(32, 2.0)}).scaling_name(),
      "freq_factors");
}

// The scaling only changes the table: a scaled rope's cache and its on-the-fly path give the same
// bits, for every layout and a scaling with a folded attention factor.
TEST(Scaling, CachedAndOnTheFlyAgreeUnderScaling) {
  for (auto layout : {posenc::rope_layout::half_split, posenc::rope_layout::interleaved}) {
    posenc::rope_config cfg{128, 96, 1e6};
    cfg.layout = layout;
    const posenc::rope r(cfg, yarn(4.0));
    ASSERT_NE(r.magnitude(), 1.0);
    const posenc::rope_cache<float> cache(r, 5000);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    const std::size_t T = 64, H = 3;
    std::vector<float> x(T * H * 128);
    for (float& v : x) v = u(rng);
    std::vector<std::int32_t> pos(T);
    for (std::size_t t = 0; t < T; ++t) pos[t] = static_cast<std::int32_t>((t * 977) % 4999);
    std::vector<float> a = x, b = x;
    r.apply(posenc::make_head_view(a.data(), T, H, 128), pos.data());
    cache.apply(posenc::make_head_view(b.data(), T, H, 128), pos.data());
    EXPECT_EQ(a, b);
  }
}

}  // namespace
