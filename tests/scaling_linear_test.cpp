// posenc tests — linear scaling (Position Interpolation), posenc/scaling/linear.hpp
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling/linear.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;

TEST(ScalingLinear, MatchesOracle) { posenc_test::check_file("linear"); }

TEST(ScalingLinear, FactorOneIsPlainRope) {
  for (double base : {10000.0, 500000.0})
    for (std::size_t r : {64u, 128u}) {
      const posenc::rope_config cfg{128, r, base};
      expect_same_tables(posenc::rope(cfg, posenc::linear_scaling{1.0}), posenc::rope(cfg),
                         "linear{1}");
    }
}

TEST(ScalingLinear, DividesEveryFrequency) {
  const posenc::rope_config cfg{128, 128, 10000.0};
  const posenc::rope plain(cfg), lin(cfg, posenc::linear_scaling{8.0});
  for (std::size_t k = 0; k < plain.pairs(); ++k) {
    EXPECT_EQ(lin.inv_freq(k), plain.inv_freq(k) / 8.0);  // power of two: exact
    EXPECT_EQ(lin.inv_freq_f32(k), plain.inv_freq_f32(k) / 8.0f);
  }
  EXPECT_EQ(lin.attention_factor(), 1.0);
  EXPECT_EQ(lin.scaling_name(), "linear");
}

TEST(ScalingLinear, InvalidFactorThrowsNamingIt) {
  const posenc::rope_config cfg{64};
  expect_invalid([&] { posenc::rope(cfg, posenc::linear_scaling{0.5}); }, "factor", "0.5");
  expect_invalid([&] { posenc::rope(cfg, posenc::linear_scaling{0.0}); }, "factor", "0");
  expect_invalid([&] { posenc::rope(cfg, posenc::linear_scaling{-2.0}); }, "factor", "-2");
  expect_invalid([&] { posenc::rope(cfg, posenc::linear_scaling{std::nan("")}); }, "factor", "nan");
  expect_invalid(
      [&] { posenc::rope(cfg, posenc::linear_scaling{std::numeric_limits<double>::infinity()}); },
      "factor", "inf");
}

}  // namespace
