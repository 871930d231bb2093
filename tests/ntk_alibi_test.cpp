// posenc tests — include/posenc/ntk_alibi.hpp: NTK-ALiBi slopes (code and formula variants)
// and inner interpolation against the keezen/ntk_alibi definitions evaluated in mpmath
// (tests/data/bias_ntk_alibi_slopes.txt), the dynamic factor, and the properties that make the
// policies usable on the one alibi_bias functor.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/alibi.hpp>
#include <posenc/ntk_alibi.hpp>

#include "support/bias_data.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc::alibi_bias;
using posenc::interpolated_alibi_slopes;
using posenc::ntk_alibi_slopes;
using posenc::ntk_alibi_variant;

alibi_bias make(const posenc_test::ntk_slope_row& r) {
  const posenc::alibi_config c{static_cast<std::size_t>(r.heads), r.max_bias};
  if (r.variant == "interp") return alibi_bias(c, interpolated_alibi_slopes{r.factor});
  const ntk_alibi_variant v =
      r.variant == "code" ? ntk_alibi_variant::code : ntk_alibi_variant::formula;
  return alibi_bias(c, ntk_alibi_slopes{r.factor, v});
}

TEST(NtkAlibiOracle, SlopesOfBothVariantsAndInterpolation) {
  // Bound: the exponent −B·h/c − ((h−1)/(H−1))·log2(a) is formed in long double with a
  // relative error of a few 2^-64 (|x| < 20, so < 2^-58 absolute), and exp2l adds ~2^-63
  // relative: the result is within 2^-57·ln2·… ≪ 2^-53, i.e. within 0.5 + 1/16 ulp of the
  // exact slope after the one rounding to double: at most 1 ulp from the correctly rounded
  // oracle (0 unless the exact value is within 1/16 ulp of a midpoint).
  const auto rows = posenc_test::load_ntk_slopes();
  ASSERT_EQ(rows.size(), 1248u);
  std::size_t exact = 0;
  for (const auto& r : rows) {
    const alibi_bias a = make(r);
    const double m = a.slope(static_cast<std::size_t>(r.head));
    const auto d = posenc_test::ulp_distance(m, r.slope_f64);
    ASSERT_LE(d, 1) << r.variant << " H=" << r.heads << " a=" << r.factor << " B=" << r.max_bias
                    << " h=" << r.head << ": " << m << " vs " << r.slope_f64;
    exact += d == 0;
  }
  // Most are correctly rounded; a handful may sit within the tiny error of a midpoint.
  EXPECT_GE(exact, rows.size() - rows.size() / 50) << exact << " of " << rows.size();
}

TEST(NtkAlibiProperties, VariantsAgreeForPowerOfTwoHeadsAndDifferOtherwise) {
  for (std::size_t H : {2u, 4u, 8u, 16u, 32u, 64u})
    for (double a : {1.0, 2.0, 3.5, 8.0}) {
      const alibi_bias code({H}, ntk_alibi_slopes{a, ntk_alibi_variant::code});
      const alibi_bias formula({H}, ntk_alibi_slopes{a, ntk_alibi_variant::formula});
      for (std::size_t h = 0; h < H; ++h)
        EXPECT_EQ(code.slope(h), formula.slope(h)) << H << " " << h;
    }
  // H = 12, a = 2: the code keeps the interleaved extra heads; the formula is geometric.
  const alibi_bias code({12}, ntk_alibi_slopes{2.0, ntk_alibi_variant::code});
  const alibi_bias formula({12}, ntk_alibi_slopes{2.0, ntk_alibi_variant::formula});
  double maxrel = 0;
  for (std::size_t h = 0; h < 12; ++h)
    maxrel = std::max(maxrel, std::fabs(code.slope(h) / formula.slope(h) - 1.0));
  EXPECT_GT(maxrel, 1.0)
      << "keezen/ntk_alibi's two definitions: relative differences up to ~5 at H = 12";
}

TEST(NtkAlibiProperties, CodeVariantAtFactorOneIsStandardAlibiForEveryHeadCount) {
  // Why it is the default: a = 1 leaves a trained model's slopes exactly as they were.
  for (std::size_t H = 1; H <= 64; ++H) {
    const alibi_bias std_({H});
    const alibi_bias ntk({H}, ntk_alibi_slopes{1.0});
    const alibi_bias interp({H}, interpolated_alibi_slopes{1.0});
    for (std::size_t h = 0; h < H; ++h) {
      ASSERT_EQ(ntk.slope(h), std_.slope(h)) << H << " " << h;
      ASSERT_EQ(interp.slope(h), std_.slope(h)) << H << " " << h;
    }
  }
  // ...while the formula at a = 1 is the paper text's geometric ladder 2^(−8(h+1)/H), which
  // differs from the trained slopes for non-power-of-two H.
  const alibi_bias f12({12}, ntk_alibi_slopes{1.0, ntk_alibi_variant::formula});
  for (std::size_t h = 0; h < 12; ++h) {
    // long-double exponent and exp2l, one rounding: within 1 ulp of the exact 2^x
    const double want =
        static_cast<double>(std::exp2(-8.0L * static_cast<long double>(h + 1) / 12.0L));
    EXPECT_LE(posenc_test::ulp_distance(f12.slope(h), want), 1) << h;
  }
  EXPECT_NE(f12.slope(0), alibi_bias({12}).slope(0));
}

TEST(NtkAlibiProperties, FirstHeadKeptLastScaledHeadDividedByFactor) {
  // High-frequency extrapolation / low-frequency interpolation: head 1 keeps its slope, head H
  // (the lowest slope of the geometric part) is divided by a.
  for (double a : {2.0, 4.0, 8.0}) {
    for (std::size_t H : {8u, 32u}) {
      const alibi_bias s({H});
      const alibi_bias n({H}, ntk_alibi_slopes{a});
      EXPECT_EQ(n.slope(0), s.slope(0));
      EXPECT_NEAR(n.slope(H - 1), s.slope(H - 1) / a, 2e-16 * s.slope(H - 1));
      for (std::size_t h = 1; h + 1 < H; ++h) {
        EXPECT_LT(n.slope(h), s.slope(h)) << "intermediate heads are interpolated";
        EXPECT_GT(n.slope(h), s.slope(h) / a);
      }
    }
  }
  // Interpolation divides every slope by a.
  const alibi_bias s({40}), i({40}, interpolated_alibi_slopes{4.0});
  for (std::size_t h = 0; h < 40; ++h) EXPECT_EQ(i.slope(h), s.slope(h) / 4.0) << h;
}

TEST(NtkAlibiProperties, SingleHeadIsDefinedAndUnchanged) {
  // (h−1)/(H−1) = 0/0 at H = 1 in both sources; posenc uses 0: the only head keeps 2^−B.
  for (auto v : {ntk_alibi_variant::code, ntk_alibi_variant::formula}) {
    const alibi_bias a({1}, ntk_alibi_slopes{4.0, v});
    EXPECT_EQ(a.slope(0), 1.0 / 256);
  }
}

TEST(NtkAlibiDynamic, FactorIsMaxOfScaledLengthAndOne) {
  EXPECT_EQ(posenc::dynamic_alibi_factor(1.0, 1000, 2048), 1.0);
  EXPECT_EQ(posenc::dynamic_alibi_factor(1.0, 2048, 2048), 1.0);
  EXPECT_EQ(posenc::dynamic_alibi_factor(1.0, 4096, 2048), 2.0);
  EXPECT_EQ(posenc::dynamic_alibi_factor(1.5, 4096, 2048), 3.0);
  EXPECT_EQ(posenc::dynamic_alibi_factor(2.0, 1000, 4096), 1.0);
  EXPECT_THROW(posenc::dynamic_alibi_factor(0.0, 10, 10), std::invalid_argument);
  EXPECT_THROW(posenc::dynamic_alibi_factor(1.0, 10, 0), std::invalid_argument);
  try {
    posenc::dynamic_alibi_factor(-2.0, 10, 10);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("a0 = -2"), std::string::npos) << e.what();
  }
}

TEST(NtkAlibiConfig, InvalidPolicyThrowsNamingField) {
  try {
    alibi_bias a({8}, ntk_alibi_slopes{std::nan("")});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("factor = nan"), std::string::npos) << e.what();
  }
  try {
    alibi_bias a({8}, ntk_alibi_slopes{2.0, static_cast<ntk_alibi_variant>(5)});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("variant = 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(alibi_bias({8}, interpolated_alibi_slopes{0.0}), std::invalid_argument);
  EXPECT_STREQ(alibi_bias({8}, ntk_alibi_slopes{2.0, ntk_alibi_variant::formula}).slopes_name(),
               "ntk_alibi_formula");
  EXPECT_STREQ(alibi_bias({8}, interpolated_alibi_slopes{2.0}).slopes_name(), "alibi_interpolated");
}

TEST(NtkAlibiBias, SamePolicyOneKernel) {
  // NTK-ALiBi is the ALiBi functor with other slopes: its bias is −m_h·|Δ| with those slopes.
  const alibi_bias n({12}, ntk_alibi_slopes{4.0});
  std::vector<float> row(50, 0.0f);
  n.add_to_row(11, 100, 60, row.data(), row.size());
  for (std::size_t j = 0; j < row.size(); ++j) {
    const std::int64_t k = 60 + static_cast<std::int64_t>(j);
    if (k > 100) {
      EXPECT_TRUE(std::isinf(row[j]));
    } else {
      EXPECT_EQ(row[j], n.slope_as<float>(11) * static_cast<float>(k - 100)) << j;
    }
  }
}

}  // namespace
