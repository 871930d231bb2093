// posenc tests — LongRoPE scaling, posenc/scaling/longrope.hpp
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling/longrope.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc::longrope_scaling;
using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;

longrope_scaling lists(std::size_t n, double s, double l) {
  longrope_scaling p;
  p.short_factor.assign(n, s);
  p.long_factor.assign(n, l);
  p.original_max_position = 4096;
  return p;
}

TEST(ScalingLongrope, MatchesOracle) { posenc_test::check_file("longrope"); }

// Phi-3-mini-128k: s = 131072 / 4096 = 32 → sqrt(1 + ln 32 / ln 4096) = 1.1902380714.
TEST(ScalingLongrope, Phi3AttentionFactor) {
  auto p = lists(48, 1.0, 2.0);
  p.factor = 32.0;
  EXPECT_NEAR(p.attention_factor(), 1.1902380714, 1e-10);
  p.factor = 1.0;
  EXPECT_EQ(p.attention_factor(), 1.0);
  p.explicit_attention_factor = 1.25;
  EXPECT_EQ(p.attention_factor(), 1.25);
}

// Which list applies is explicit: current length (HF, strict >) or served length (vLLM).
TEST(ScalingLongrope, ListSelection) {
  const posenc::rope_config cfg{96};
  auto p = lists(48, 1.0, 4.0);
  const posenc::rope plain(cfg);
  auto check = [&](const longrope_scaling& q, bool want_long) {
    EXPECT_EQ(q.uses_long(), want_long);
    const posenc::rope r(cfg, q);
    EXPECT_EQ(r.inv_freq(5), want_long ? plain.inv_freq(5) / 4.0 : plain.inv_freq(5));
  };
  check(p, false);  // HF init: short
  p.current_length = 4096;
  check(p, false);
  p.current_length = 4097;
  check(p, true);
  p.current_length = 0;
  p.served_length = 4096;
  check(p, false);
  p.served_length = 131072;  // a 10-token prompt served at 128k gets the long factors
  check(p, true);
}

TEST(ScalingLongrope, UnitFactorsArePlainRope) {
  for (std::size_t r : {32u, 96u, 128u}) {
    const posenc::rope_config cfg{128, r, 1e4};
    auto p = lists(r / 2, 1.0, 1.0);
    p.current_length = 100000;
    expect_same_tables(posenc::rope(cfg, p), posenc::rope(cfg), "longrope{1}");
  }
}

TEST(ScalingLongrope, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{96};
  auto bad = [&](auto mutate, const char* field, const char* value) {
    auto p = lists(48, 1.0, 2.0);
    mutate(p);
    expect_invalid([&] { posenc::rope(cfg, p); }, field, value);
  };
  bad([](longrope_scaling& p) { p.short_factor.pop_back(); }, "short_factor.size()", "47");
  bad([](longrope_scaling& p) { p.long_factor.push_back(1.0); }, "long_factor.size()", "49");
  bad([](longrope_scaling& p) { p.short_factor[3] = 0.0; }, "short_factor[3]", "0");
  bad([](longrope_scaling& p) { p.long_factor[7] = std::nan(""); }, "long_factor[7]", "nan");
  bad([](longrope_scaling& p) { p.long_factor[0] = -1.0; }, "long_factor[0]", "-1");
  bad([](longrope_scaling& p) { p.original_max_position = 0; }, "original_max_position", "0");
  bad([](longrope_scaling& p) { p.factor = 0.5; }, "factor", "0.5");
  bad([](longrope_scaling& p) { p.explicit_attention_factor = -1.0; }, "explicit_attention_factor",
      "-1");
  bad(
      [](longrope_scaling& p) {
        p.current_length = 10;
        p.served_length = 131072;
      },
      "served_length", "131072");
}

}  // namespace
