// posenc tests — huge and extreme positions (issue 16, defects 7 and 8): every int64 position
// gives a rotation (bounded cos/sin, norms kept), the SIMD, scalar and cache paths agree bit
// for bit, and the values are cos/sin of the documented double angle within 1 ulp, checked
// against the C library's long-double cosl/sinl (full argument reduction) on that angle — an
// oracle independent of posenc's kernels. Sinusoidal position sums saturate (UBSan-clean).
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/sinusoidal.hpp>

#include "support/arch_types.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc::rope;
using posenc::rope_config;
using posenc::rope_layout;
using posenc::rope_precision;
using posenc_test::ulp_distance;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

/// Positions at and beyond the exact range of double, and around the kernel's angle limit
/// (apply takes positions >= 0: a debug assertion).
const std::vector<std::int64_t>& huge_positions() {
  static const std::vector<std::int64_t> p = {std::int64_t{1} << 32,
                                              (std::int64_t{1} << 32) + 7,
                                              std::int64_t{1} << 40,
                                              std::int64_t{1} << 53,
                                              (std::int64_t{1} << 53) + 1,
                                              std::int64_t{1} << 60,
                                              (std::int64_t{1} << 60) + 3,
                                              kMax - 1,
                                              kMax};
  return p;
}

/// The same with negative ones, for the entry points defined at any int64 (coefficients,
/// cos_sin, sinusoidal).
std::vector<std::int64_t> signed_positions() {
  std::vector<std::int64_t> p = huge_positions();
  p.insert(p.end(), {-(std::int64_t{1} << 53), -(std::int64_t{1} << 60), kMin + 1, kMin});
  return p;
}

rope make(rope_precision prec, rope_layout layout, double base = 10000.0) {
  rope_config c;
  c.head_dim = 128;
  c.base = base;
  c.layout = layout;
  c.precision = prec;
  return rope(c);
}

/// The documented angle of pair k at pos (exact: double(pos)·θ_k; hf_f32: the float product).
long double oracle_angle(const rope& r, std::int64_t pos, std::size_t k) {
  if (r.precision() == rope_precision::exact)
    return static_cast<long double>(static_cast<double>(pos) * r.inv_freq(k));
  return static_cast<long double>(static_cast<float>(pos) * r.inv_freq_f32(k));
}

template <class Arch>
class HugePosition : public ::testing::Test {};
TYPED_TEST_SUITE(HugePosition, posenc_test::arch_types, posenc_test::arch_names);

// cos/sin within 1 ulp (float) of cosl/sinl of the documented angle, and the vectorised
// coefficients equal the scalar definition bit for bit.
TYPED_TEST(HugePosition, CoefficientsAreCosSinOfTheDoubleAngle) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  for (rope_precision prec : {rope_precision::exact, rope_precision::hf_f32}) {
    const rope r = make(prec, rope_layout::half_split);
    std::vector<float> c(r.pairs()), s(r.pairs());
    std::vector<double> cd(r.pairs()), sd(r.pairs());
    for (std::int64_t p : signed_positions()) {
      r.coefficients<TypeParam>(p, 0, r.pairs(), c.data(), s.data());
      r.coefficients<TypeParam>(p, 0, r.pairs(), cd.data(), sd.data());
      for (std::size_t k = 0; k < r.pairs(); ++k) {
        const auto f = r.cos_sin<float>(p, k);
        const auto d = r.cos_sin<double>(p, k);
        ASSERT_EQ(c[k], f.first) << "pos " << p << " k " << k;
        ASSERT_EQ(s[k], f.second) << "pos " << p << " k " << k;
        ASSERT_EQ(cd[k], d.first) << "pos " << p << " k " << k;
        ASSERT_EQ(sd[k], d.second) << "pos " << p << " k " << k;
        const long double a = oracle_angle(r, p, k);
        const float cref = static_cast<float>(std::cos(a));
        const float sref = static_cast<float>(std::sin(a));
        // One rounding of a < 1 ulp double to float: within 1 float ulp of the float-rounded
        // long-double value.
        EXPECT_LE(ulp_distance(c[k], cref), 1)
            << "pos " << p << " k " << k << " prec " << static_cast<int>(prec);
        EXPECT_LE(ulp_distance(s[k], sref), 1) << "pos " << p << " k " << k;
        // double coefficients (exact mode; hf_f32 rounds cos/sin to float first): glibc's
        // cos/sin are within 1 ulp; 2 allowed for the reference's own rounding to double.
        if (prec == rope_precision::exact) {
          EXPECT_LE(std::fabs(static_cast<long double>(cd[k]) - std::cos(a)),
                    2 * posenc_test::ulp_of<double>(std::cos(a)))
              << "pos " << p << " k " << k;
          EXPECT_LE(std::fabs(static_cast<long double>(sd[k]) - std::sin(a)),
                    2 * posenc_test::ulp_of<double>(std::sin(a)))
              << "pos " << p << " k " << k;
        }
      }
    }
  }
}

// apply at huge positions rotates (norm of every pair kept), for float storage, both layouts,
// and a cache (positions beyond its capacity) gives the same bits.
TYPED_TEST(HugePosition, ApplyKeepsNormsAndCacheAgrees) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  for (rope_precision prec : {rope_precision::exact, rope_precision::hf_f32}) {
    for (rope_layout layout : {rope_layout::half_split, rope_layout::interleaved}) {
      const rope r = make(prec, layout, 500000.0);
      const posenc::rope_cache<float> cache(r, 64, TypeParam{});
      const std::vector<std::int64_t>& pos = huge_positions();
      const std::size_t T = pos.size(), H = 2, D = 128;
      std::vector<float> x(T * H * D), y;
      for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + 1.0));
      y = x;
      std::vector<float> z = x;
      r.apply<TypeParam>(posenc::make_head_view(y.data(), T, H, D), pos.data());
      cache.apply<TypeParam>(posenc::make_head_view(z.data(), T, H, D), pos.data());
      for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], z[i]) << "element " << i;
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t h = 0; h < H; ++h)
          for (std::size_t k = 0; k < D / 2; ++k) {
            const std::size_t base = (t * H + h) * D;
            const std::size_t i0 = layout == rope_layout::half_split ? k : 2 * k;
            const std::size_t i1 = layout == rope_layout::half_split ? k + D / 2 : 2 * k + 1;
            const double n0 = std::hypot(double{x[base + i0]}, double{x[base + i1]});
            const double n1 = std::hypot(double{y[base + i0]}, double{y[base + i1]});
            // cos, sin within 1 ulp each and two float products and a sum: ≤ 4·2^-24 relative
            // (before the fix: off by up to 1e30).
            ASSERT_NEAR(n1, n0, 4 * 0x1p-24 * n0 + 1e-30)
                << "pos " << pos[t] << " head " << h << " pair " << k;
          }
    }
  }
}

// Below the kernel's angle limit nothing changed: the per-chunk check keeps the kernel path,
// and the kernel path equals the scalar definition there (a boundary position on each side).
TEST(HugePositionBoundary, KernelLimitIsSharpAndConsistent) {
  const rope r = make(rope_precision::exact, rope_layout::half_split);
  ASSERT_EQ(r.inv_freq(0), 1.0);
  for (std::int64_t p : {std::int64_t{4294967295}, std::int64_t{4294967296}}) {
    const auto f = r.cos_sin<double>(p, 0);
    const long double a = static_cast<long double>(p);
    EXPECT_LE(std::fabs(static_cast<long double>(f.first) - std::cos(a)),
              2 * posenc_test::ulp_of<double>(std::cos(a)))
        << p;
    EXPECT_LE(std::fabs(static_cast<long double>(f.second) - std::sin(a)),
              2 * posenc_test::ulp_of<double>(std::sin(a)))
        << p;
  }
}

// ---- sinusoidal ------------------------------------------------------------------------------

TYPED_TEST(HugePosition, SinusoidalBoundedAndConsistent) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const posenc::sinusoidal_embedding pe(posenc::sinusoidal_paper(64));
  const posenc::sinusoidal_table<float> table(pe, 32, TypeParam{});
  const std::vector<std::int64_t> pos = signed_positions();
  const std::size_t T = pos.size(), D = 64;
  std::vector<float> a(T * D), b(T * D);
  pe.fill<TypeParam>(posenc::make_embed_view(a.data(), T, D), pos.data());
  table.fill<TypeParam>(posenc::make_embed_view(b.data(), T, D), pos.data());
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t ch = 0; ch < D; ++ch) {
      const float v = a[t * D + ch];
      ASSERT_EQ(v, pe.value<float>(pos[t], ch)) << "pos " << pos[t] << " ch " << ch;
      ASSERT_EQ(b[t * D + ch], v) << "pos " << pos[t] << " ch " << ch;
      const long double ang =
          static_cast<long double>(static_cast<double>(pos[t]) * pe.frequency(ch / 2));
      const float ref = static_cast<float>(ch % 2 ? std::cos(ang) : std::sin(ang));
      EXPECT_LE(ulp_distance(v, ref), 1) << "pos " << pos[t] << " ch " << ch;
    }
}

// pos + position_offset, first + t and padding_idx + past_length + count saturate instead of
// overflowing (signed overflow is UB; the sanitizer build checks it).
TEST(HugePositionSinusoidal, OffsetsSaturate) {
  posenc::sinusoidal_config c = posenc::sinusoidal_t2t(16);
  c.position_offset = kMax - 2;
  const posenc::sinusoidal_embedding pe(c);
  for (std::size_t ch = 0; ch < 16; ++ch) {
    EXPECT_EQ(pe.value<float>(100, ch), pe.value<float>(kMax - 2 + 2, ch)) << ch;  // saturated
    EXPECT_EQ(pe.value<float>(kMax, ch), pe.value<float>(100, ch)) << ch;
  }
  std::vector<float> row(3 * 16);
  pe.fill(posenc::make_embed_view(row.data(), 3, 16), kMax - 1);  // first + t saturates too
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t ch = 0; ch < 16; ++ch)
      EXPECT_EQ(row[t * 16 + ch], pe.value<float>(kMax, ch)) << t << " " << ch;
  c.position_offset = kMin + 1;
  const posenc::sinusoidal_embedding neg(c);
  for (std::size_t ch = 0; ch < 16; ++ch)
    EXPECT_EQ(neg.value<float>(-5, ch), neg.value<float>(kMin, ch)) << ch;

  const unsigned char is_token[4] = {1, 0, 1, 1};
  std::int64_t out[4];
  posenc::make_fairseq_positions(is_token, 4, kMax - 1, 5, out);
  EXPECT_EQ(out[0], kMax);
  EXPECT_EQ(out[1], kMax - 1);
  EXPECT_EQ(out[2], kMax);
  EXPECT_EQ(out[3], kMax);

  posenc::sinusoidal_config f = posenc::sinusoidal_fairseq(8, kMax);  // padding at INT64_MAX
  const posenc::sinusoidal_embedding fe(f);
  for (std::size_t ch = 0; ch < 8; ++ch) EXPECT_EQ(fe.value<float>(kMax, ch), 0.0f);
}

}  // namespace
