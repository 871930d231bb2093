// posenc tests — per-pair frequency divisors, posenc/scaling/freq_factors.hpp
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling/freq_factors.hpp>
#include <posenc/scaling/linear.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc::freq_factors_scaling;
using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;

TEST(ScalingFreqFactors, MatchesOracle) { posenc_test::check_file("freq_factors"); }

TEST(ScalingFreqFactors, OnesArePlainAndConstantIsLinear) {
  for (std::size_t r : {32u, 64u, 128u}) {
    const posenc::rope_config cfg{128, r, 5e5};
    expect_same_tables(posenc::rope(cfg, freq_factors_scaling{std::vector<double>(r / 2, 1.0)}),
                       posenc::rope(cfg), "divisors 1");
    expect_same_tables(posenc::rope(cfg, freq_factors_scaling{std::vector<double>(r / 2, 3.0)}),
                       posenc::rope(cfg, posenc::linear_scaling{3.0}), "divisors 3");
  }
  freq_factors_scaling f{std::vector<double>(32, 2.0), 1.5};
  EXPECT_EQ(posenc::rope(posenc::rope_config{64}, f).attention_factor(), 1.5);
}

TEST(ScalingFreqFactors, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{64};
  expect_invalid([&] { posenc::rope(cfg, freq_factors_scaling{std::vector<double>(31, 1.0)}); },
                 "divisors.size()", "31");
  std::vector<double> v(32, 1.0);
  v[9] = 0.0;
  expect_invalid([&] { posenc::rope(cfg, freq_factors_scaling{v}); }, "divisors[9]", "0");
  v[9] = std::nan("");
  expect_invalid([&] { posenc::rope(cfg, freq_factors_scaling{v}); }, "divisors[9]", "nan");
  expect_invalid(
      [&] {
        posenc::rope(cfg, freq_factors_scaling{std::vector<double>(32, 1.0), 0.0});
      },
      "explicit_attention_factor", "0");
}

}  // namespace
