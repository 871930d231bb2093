// Tests of posenc::rope (include/posenc/rope.hpp): configuration errors, the frequency ladder
// and cos/sin against the Python/mpmath oracle (tests/data, generator tests/oracle/gen_rope.py)
// at positions up to 2^31 − 1 in both precision modes, rotated vectors against the oracle for
// both layouts, partial rotary and every storage type, and the metamorphic properties.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/posenc.hpp"

#include "support/arch_types.hpp"
#include "support/data.hpp"
#include "support/formats.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc_test::from_double;
using posenc_test::same_bits;
using posenc_test::to_double;

using posenc::rope;
using posenc::rope_config;
using posenc::rope_layout;
using posenc::rope_precision;

rope make(std::size_t head_dim, std::size_t rotary_dim, double base,
          rope_layout layout = rope_layout::half_split,
          rope_precision precision = rope_precision::exact) {
  rope_config c;
  c.head_dim = head_dim;
  c.rotary_dim = rotary_dim;
  c.base = base;
  c.layout = layout;
  c.precision = precision;
  return rope(c);
}

std::string message_of(const rope_config& c) {
  try {
    rope r(c);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

// ---- configuration -------------------------------------------------------------------------

TEST(RopeConfig, InvalidFieldsThrowNamingFieldAndValue) {
  rope_config c;
  c.head_dim = 0;
  EXPECT_NE(message_of(c).find("head_dim = 0"), std::string::npos) << message_of(c);
  c.head_dim = 128;
  c.rotary_dim = 7;
  EXPECT_NE(message_of(c).find("rotary_dim = 7"), std::string::npos) << message_of(c);
  c.rotary_dim = 130;
  EXPECT_NE(message_of(c).find("rotary_dim = 130"), std::string::npos) << message_of(c);
  c.head_dim = 7;  // rotary_dim defaults to head_dim, which is odd
  c.rotary_dim = 0;
  EXPECT_NE(message_of(c).find("rotary_dim = 7"), std::string::npos) << message_of(c);
  c.head_dim = 64;
  for (double b : {1.0, 0.5, -3.0, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    c.base = b;
    const std::string m = message_of(c);
    EXPECT_NE(m.find("base = "), std::string::npos) << m;
  }
  c.base = 1.0000001;  // just above 1 is valid
  EXPECT_NO_THROW(rope{c});
}

TEST(RopeConfig, DefaultsAndObservers) {
  const rope r = make(128, 0, 10000.0);
  EXPECT_EQ(r.rotary_dim(), 128u);
  EXPECT_EQ(r.pairs(), 64u);
  EXPECT_EQ(r.attention_factor(), 1.0);
  EXPECT_EQ(r.magnitude(), 1.0);
  EXPECT_EQ(r.scaling_name(), "none");
  EXPECT_EQ(r.inv_freq(0), 1.0);
}

// ---- frequency ladder and cos/sin vs the oracle --------------------------------------------

TEST(RopeOracle, InvFreqExactIsCorrectlyRoundedAndHfIsBitExact) {
  const auto rows = posenc_test::load_inv_freq();
  ASSERT_GT(rows.size(), 300u);
  for (const auto& row : rows) {
    const rope r = make(static_cast<std::size_t>(row.rotary_dim),
                        static_cast<std::size_t>(row.rotary_dim), row.base);
    const std::size_t k = static_cast<std::size_t>(row.k);
    // exact: long-double pow rounded to double must be the correctly rounded value.
    EXPECT_EQ(r.inv_freq(k), row.inv_freq_exact)
        << "base " << row.base << " d " << row.rotary_dim << " k " << row.k;
    // hf_f32: 1.0f / powf((float)base, (float)(2k)/(float)d), bit for bit.
    EXPECT_EQ(static_cast<double>(r.inv_freq_f32(k)), row.inv_freq_hf)
        << "base " << row.base << " d " << row.rotary_dim << " k " << row.k;
  }
}

// Exact mode: the double angle is bit-exact, cos/sin in float within 1 ulp of the correctly
// rounded float (the issue asks ≤ 2), in double within 2 ulp, at every position up to 2^31−1.
TEST(RopeOracle, CosSinExactModeUpTo2Pow31) {
  const auto rows = posenc_test::load_cos_sin();
  ASSERT_GT(rows.size(), 10000u);
  std::int64_t worst_f = 0, worst_d = 0;
  bool saw_max_position = false;
  for (const auto& row : rows) {
    const rope r = make(static_cast<std::size_t>(row.rotary_dim),
                        static_cast<std::size_t>(row.rotary_dim), row.base);
    const std::size_t k = static_cast<std::size_t>(row.k);
    saw_max_position |= row.pos == 2147483647;
    ASSERT_EQ(r.angle(row.pos, k), row.angle_exact) << "pos " << row.pos << " k " << k;
    const auto f = r.cos_sin<float>(row.pos, k);
    const auto d = r.cos_sin<double>(row.pos, k);
    const std::int64_t uf =
        std::max(posenc_test::ulp_distance(f.first, static_cast<float>(row.cos_f32)),
                 posenc_test::ulp_distance(f.second, static_cast<float>(row.sin_f32)));
    const std::int64_t ud = std::max(posenc_test::ulp_distance(d.first, row.cos_f64),
                                     posenc_test::ulp_distance(d.second, row.sin_f64));
    worst_f = std::max(worst_f, uf);
    worst_d = std::max(worst_d, ud);
    EXPECT_LE(uf, 1) << "float, base " << row.base << " d " << row.rotary_dim << " k " << k
                     << " pos " << row.pos;
    EXPECT_LE(ud, 2) << "double, base " << row.base << " d " << row.rotary_dim << " k " << k
                     << " pos " << row.pos;
  }
  EXPECT_TRUE(saw_max_position);
  RecordProperty("max_ulp_float", static_cast<int>(worst_f));
  RecordProperty("max_ulp_double", static_cast<int>(worst_d));
}

// hf_f32 mode: the float angle is bit-exact against the numpy float32 emulation of HF, and
// cos/sin are within 1 ulp of the correctly rounded float cos/sin of that angle.
TEST(RopeOracle, CosSinHfF32Mode) {
  const auto rows = posenc_test::load_cos_sin();
  for (const auto& row : rows) {
    const rope r =
        make(static_cast<std::size_t>(row.rotary_dim), static_cast<std::size_t>(row.rotary_dim),
             row.base, rope_layout::half_split, rope_precision::hf_f32);
    const std::size_t k = static_cast<std::size_t>(row.k);
    ASSERT_EQ(r.angle(row.pos, k), row.angle_hf) << "pos " << row.pos << " k " << k;
    const auto f = r.cos_sin<float>(row.pos, k);
    EXPECT_LE(posenc_test::ulp_distance(f.first, static_cast<float>(row.cos_hf)), 1)
        << "pos " << row.pos << " k " << k;
    EXPECT_LE(posenc_test::ulp_distance(f.second, static_cast<float>(row.sin_hf)), 1)
        << "pos " << row.pos << " k " << k;
  }
}

// ---- per-architecture tests ----------------------------------------------------------------

template <class Arch>
class RopeArch : public ::testing::Test {};
TYPED_TEST_SUITE(RopeArch, posenc_test::arch_types, posenc_test::arch_names);

// The vectorised coefficients equal the scalar definition bit for bit (under any -ffp-contract).
TYPED_TEST(RopeArch, CoefficientsEqualScalarDefinition) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  for (rope_precision prec : {rope_precision::exact, rope_precision::hf_f32}) {
    for (std::size_t rot : {2u, 6u, 64u, 128u, 300u}) {
      const rope r = make(rot, rot, 500000.0, rope_layout::half_split, prec);
      std::vector<float> cf(r.pairs()), sf(r.pairs());
      std::vector<double> cd(r.pairs()), sd(r.pairs());
      for (std::int64_t p : {0LL, 1LL, 4095LL, 65537LL, 16777217LL, 2147483647LL}) {
        r.coefficients<TypeParam>(p, 0, r.pairs(), cf.data(), sf.data());
        r.coefficients<TypeParam>(p, 0, r.pairs(), cd.data(), sd.data());
        for (std::size_t k = 0; k < r.pairs(); ++k) {
          const auto f = r.cos_sin<float>(p, k);
          const auto d = r.cos_sin<double>(p, k);
          ASSERT_EQ(cf[k], f.first) << "rot " << rot << " pos " << p << " k " << k;
          ASSERT_EQ(sf[k], f.second) << "rot " << rot << " pos " << p << " k " << k;
          ASSERT_EQ(cd[k], d.first) << "rot " << rot << " pos " << p << " k " << k;
          ASSERT_EQ(sd[k], d.second) << "rot " << rot << " pos " << p << " k " << k;
        }
      }
    }
  }
}

// Bound for one element of the oracle's rotate cases (see tests/support/tolerance.hpp): the
// coefficients are within 1 ulp (float) / 2 ulp (double) of the oracle's correctly rounded
// ones; 16-bit outputs add one rounding to the storage format.
double rotate_bound(const std::string& storage, double scale, double y_ref) {
  using posenc_test::storage_fmt;
  using posenc_test::unit_roundoff;
  if (storage == "f32") return posenc_test::rotation_bound(scale, unit_roundoff(24), 1);
  if (storage == "f64") return posenc_test::rotation_bound(scale, unit_roundoff(53), 2);
  const auto stored = [&](int p, double tiny) {
    return posenc_test::stored_rotation_bound(scale, y_ref, unit_roundoff(24), 1, unit_roundoff(p),
                                              tiny);
  };
  if (storage == "bf16")
    return stored(storage_fmt<posenc::bfloat16_t>::precision,
                  storage_fmt<posenc::bfloat16_t>::tiny);
  return stored(storage_fmt<posenc::float16_t>::precision, storage_fmt<posenc::float16_t>::tiny);
}

template <class Arch, class T>
void check_rotate_case(const posenc_test::rotate_row& row) {
  const rope_layout layout =
      row.layout == "interleaved" ? rope_layout::interleaved : rope_layout::half_split;
  const rope r = make(static_cast<std::size_t>(row.head_dim),
                      static_cast<std::size_t>(row.rotary_dim), row.base, layout);
  const std::size_t D = static_cast<std::size_t>(row.head_dim);
  std::vector<T> on_the_fly(D), cached(D), cached_beyond(D);
  for (std::size_t i = 0; i < D; ++i) {
    on_the_fly[i] = from_double<T>(row.x[i]);
    ASSERT_EQ(to_double(on_the_fly[i]), row.x[i]) << "oracle input not representable";
  }
  cached = on_the_fly;
  cached_beyond = on_the_fly;
  const std::int64_t pos[1] = {row.pos};
  r.apply<Arch>(posenc::make_head_view(on_the_fly.data(), 1, 1, D), pos);
  using C = posenc::coef_t<T>;
  // A table that holds the position, and one that does not (computed on the fly).
  const std::size_t cap = row.pos < 5000 ? static_cast<std::size_t>(row.pos) + 1 : 64;
  posenc::rope_cache<C> cache(r, cap, Arch{});
  cache.template apply<Arch>(posenc::make_head_view(cached.data(), 1, 1, D), pos);
  posenc::rope_cache<C> small(r, 0, Arch{});
  small.template apply<Arch>(posenc::make_head_view(cached_beyond.data(), 1, 1, D), pos);
  for (std::size_t i = 0; i < D; ++i) {
    const double got = to_double(on_the_fly[i]);
    const double bound = rotate_bound(row.storage, row.scale[i], row.y[i]);
    if (row.scale[i] == 0) {
      ASSERT_EQ(got, row.x[i]) << "pass-through channel " << i << " changed";
    }
    EXPECT_LE(std::fabs(got - row.y[i]), bound)
        << row.layout << ' ' << row.storage << " D " << D << " r " << row.rotary_dim << " base "
        << row.base << " pos " << row.pos << " channel " << i << " got " << got << " want "
        << row.y[i];
    // cache path == on-the-fly path, bit for bit, inside and beyond the table
    EXPECT_EQ(std::memcmp(&cached[i], &on_the_fly[i], sizeof(T)), 0) << "channel " << i;
    EXPECT_EQ(std::memcmp(&cached_beyond[i], &on_the_fly[i], sizeof(T)), 0) << "channel " << i;
  }
}

TYPED_TEST(RopeArch, RotatedVectorsMatchOracle) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const auto rows = posenc_test::load_rotate();
  ASSERT_GT(rows.size(), 150u);
  int seen[4] = {0, 0, 0, 0};
  for (const auto& row : rows) {
    if (row.storage == "f32") {
      check_rotate_case<TypeParam, float>(row);
      ++seen[0];
    } else if (row.storage == "f64") {
      check_rotate_case<TypeParam, double>(row);
      ++seen[1];
    } else if (row.storage == "bf16") {
      check_rotate_case<TypeParam, posenc::bfloat16_t>(row);
      ++seen[2];
    } else if (row.storage == "f16") {
      check_rotate_case<TypeParam, posenc::float16_t>(row);
      ++seen[3];
    } else {
      FAIL() << "unknown storage " << row.storage;
    }
  }
  for (int s : seen) EXPECT_GT(s, 20);
}

// A buffer of random values with sentinels around a strided view, to prove nothing outside
// the view is written.
template <class T>
std::vector<T> random_buffer(std::size_t n, std::uint32_t seed, double lo = -2, double hi = 2) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = from_double<T>(dist(gen));
  return v;
}

template <class Arch, class T>
void check_layout_permutation() {
  // interleaved(x) == P^-1 half_split(P x), where P de-interleaves the rotated channels.
  const std::size_t D = 80, R = 48, H = 3, T_ = 5;
  const rope hs = make(D, R, 10000.0, rope_layout::half_split);
  const rope il = make(D, R, 10000.0, rope_layout::interleaved);
  std::vector<T> x = random_buffer<T>(T_ * H * D, 7);
  std::vector<T> p(x.size());
  for (std::size_t row = 0; row < T_ * H; ++row)
    for (std::size_t c = 0; c < D; ++c) {
      std::size_t dst = c;
      if (c < R) dst = (c % 2 == 0) ? c / 2 : R / 2 + c / 2;
      p[row * D + dst] = x[row * D + c];
    }
  const std::int32_t pos[T_] = {0, 3, 100, 65536, 2000000000};
  il.apply<Arch>(posenc::make_head_view(x.data(), T_, H, D), pos);
  hs.apply<Arch>(posenc::make_head_view(p.data(), T_, H, D), pos);
  for (std::size_t row = 0; row < T_ * H; ++row)
    for (std::size_t c = 0; c < D; ++c) {
      std::size_t src = c;
      if (c < R) src = (c % 2 == 0) ? c / 2 : R / 2 + c / 2;
      ASSERT_EQ(std::memcmp(&x[row * D + c], &p[row * D + src], sizeof(T)), 0)
          << "row " << row << " channel " << c;
    }
}

TYPED_TEST(RopeArch, InterleavedIsPermutedHalfSplitBitForBit) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_layout_permutation<TypeParam, float>();
  check_layout_permutation<TypeParam, double>();
  check_layout_permutation<TypeParam, posenc::bfloat16_t>();
  check_layout_permutation<TypeParam, posenc::float16_t>();
}

template <class Arch, class T>
void check_inverse_and_norm(rope_layout layout) {
  const std::size_t D = 128, R = 96, H = 4, NT = 6;
  const rope r = make(D, R, 10000.0, layout);
  const std::vector<T> x0 = random_buffer<T>(NT * H * D, 11);
  std::vector<T> x = x0;
  const std::int64_t pos[NT] = {0, 1, 77, 4096, 1 << 24, 2147483647};
  auto v = posenc::make_head_view(x.data(), NT, H, D);
  r.apply<Arch>(v, pos);
  // Norm of each pair is preserved: |‖y‖² − ‖x‖²| ≤ (c²+s² − 1 and rounding) ≤ 8u·‖x‖².
  const double u = std::is_same<T, double>::value ? posenc_test::unit_roundoff(53)
                                                  : posenc_test::unit_roundoff(24);
  for (std::size_t row = 0; row < NT * H; ++row)
    for (std::size_t k = 0; k < R / 2; ++k) {
      const std::size_t a = layout == rope_layout::half_split ? k : 2 * k;
      const std::size_t b = layout == rope_layout::half_split ? k + R / 2 : 2 * k + 1;
      const double n0 = to_double(x0[row * D + a]) * to_double(x0[row * D + a]) +
                        to_double(x0[row * D + b]) * to_double(x0[row * D + b]);
      const double n1 = to_double(x[row * D + a]) * to_double(x[row * D + a]) +
                        to_double(x[row * D + b]) * to_double(x[row * D + b]);
      EXPECT_LE(std::fabs(n1 - n0), 8 * u * n0) << "row " << row << " pair " << k;
    }
  // apply_inverse ∘ apply = identity within two rotations' error: each element ≤ 2·(4u)·(|a|+|b|).
  r.apply_inverse<Arch>(v, pos);
  for (std::size_t row = 0; row < NT * H; ++row)
    for (std::size_t k = 0; k < R / 2; ++k) {
      const std::size_t a = layout == rope_layout::half_split ? k : 2 * k;
      const std::size_t b = layout == rope_layout::half_split ? k + R / 2 : 2 * k + 1;
      const double mag =
          std::fabs(to_double(x0[row * D + a])) + std::fabs(to_double(x0[row * D + b]));
      EXPECT_LE(std::fabs(to_double(x[row * D + a]) - to_double(x0[row * D + a])), 8 * u * mag);
      EXPECT_LE(std::fabs(to_double(x[row * D + b]) - to_double(x0[row * D + b])), 8 * u * mag);
    }
  for (std::size_t row = 0; row < NT * H; ++row)
    for (std::size_t c = R; c < D; ++c)
      ASSERT_EQ(std::memcmp(&x[row * D + c], &x0[row * D + c], sizeof(T)), 0) << "pass-through";
}

TYPED_TEST(RopeArch, InverseAndNormPreservation) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  for (rope_layout l : {rope_layout::half_split, rope_layout::interleaved}) {
    check_inverse_and_norm<TypeParam, float>(l);
    check_inverse_and_norm<TypeParam, double>(l);
  }
}

// ⟨R(m)q, R(n)k⟩ depends only on m − n: shifting both positions by Δ changes the dot product by
// no more than the angle errors allow. Angles are formed in double: each is off by at most
// ulp(p·θ)/2 ≤ p·2^-53 plus the coefficient error (2 ulp), so the difference is bounded by
// ‖q‖‖k‖·2^-52·(2·p_max + 16).
TYPED_TEST(RopeArch, DotProductDependsOnlyOnRelativePosition) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const std::size_t D = 128;
  for (rope_layout l : {rope_layout::half_split, rope_layout::interleaved}) {
    const rope r = make(D, D, 10000.0, l);
    const std::vector<double> q0 = random_buffer<double>(D, 21), k0 = random_buffer<double>(D, 22);
    double qn = 0, kn = 0;
    for (std::size_t i = 0; i < D; ++i) qn += q0[i] * q0[i], kn += k0[i] * k0[i];
    auto dot_at = [&](std::int64_t m, std::int64_t n) {
      std::vector<double> q = q0, k = k0;
      r.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 1, D), &m);
      r.apply<TypeParam>(posenc::make_head_view(k.data(), 1, 1, D), &n);
      long double s = 0;
      for (std::size_t i = 0; i < D; ++i) s += static_cast<long double>(q[i]) * k[i];
      return static_cast<double>(s);
    };
    for (std::int64_t delta : {1LL, 1000LL, 1000000LL, 1000000000LL}) {
      for (std::int64_t m : {0LL, 5LL, 300LL}) {
        const std::int64_t n = m / 2;
        const double pmax = static_cast<double>(m + delta);
        const double bound = std::sqrt(qn * kn) * std::ldexp(1.0, -52) * (2 * pmax + 16);
        EXPECT_NEAR(dot_at(m, n), dot_at(m + delta, n + delta), bound)
            << "m " << m << " n " << n << " delta " << delta;
      }
    }
  }
}

// Strided views: BSHD, BHSD and a fused QKV buffer give identical results; GQA (different q/k
// head counts); int32 and int64 positions; token ranges split the work; nothing outside the
// view is written.
TYPED_TEST(RopeArch, StridedViewsRangesAndBounds) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const std::size_t NT = 7, HQ = 4, HK = 2, D = 64;
  const rope r = make(D, 48, 10000.0, rope_layout::half_split);
  const std::int32_t pos32[NT] = {5, 0, 9, 9, 1000, 70000, 3};  // repeats, any order
  const std::int64_t pos64[NT] = {5, 0, 9, 9, 1000, 70000, 3};
  // Reference: contiguous BSHD q and k.
  std::vector<float> q = random_buffer<float>(NT * HQ * D, 1),
                     k = random_buffer<float>(NT * HK * D, 2);
  const std::vector<float> q0 = q, k0 = k;
  r.apply<TypeParam>(posenc::make_head_view(q.data(), NT, HQ, D),
                     posenc::make_head_view(k.data(), NT, HK, D), pos32);
  // int64 positions, two token ranges.
  {
    std::vector<float> q2 = q0, k2 = k0;
    auto vq = posenc::make_head_view(q2.data(), NT, HQ, D);
    auto vk = posenc::make_head_view(k2.data(), NT, HK, D);
    r.apply<TypeParam>(vq, vk, pos64, posenc::token_range{0, 3});
    r.apply<TypeParam>(vq, vk, pos64, posenc::token_range{3, 100});
    EXPECT_TRUE(same_bits(q2, q));
    EXPECT_TRUE(same_bits(k2, k));
  }
  // BHSD: [heads][tokens][dim].
  {
    std::vector<float> qb(q0.size()), kb(k0.size());
    for (std::size_t t = 0; t < NT; ++t)
      for (std::size_t h = 0; h < HQ; ++h)
        std::memcpy(&qb[(h * NT + t) * D], &q0[(t * HQ + h) * D], D * sizeof(float));
    for (std::size_t t = 0; t < NT; ++t)
      for (std::size_t h = 0; h < HK; ++h)
        std::memcpy(&kb[(h * NT + t) * D], &k0[(t * HK + h) * D], D * sizeof(float));
    r.apply<TypeParam>(posenc::make_head_view(qb.data(), NT, HQ, D, D, NT * D),
                       posenc::make_head_view(kb.data(), NT, HK, D, D, NT * D), pos32);
    for (std::size_t t = 0; t < NT; ++t)
      for (std::size_t h = 0; h < HQ; ++h)
        EXPECT_EQ(std::memcmp(&qb[(h * NT + t) * D], &q[(t * HQ + h) * D], D * sizeof(float)), 0);
    for (std::size_t t = 0; t < NT; ++t)
      for (std::size_t h = 0; h < HK; ++h)
        EXPECT_EQ(std::memcmp(&kb[(h * NT + t) * D], &k[(t * HK + h) * D], D * sizeof(float)), 0);
  }
  // Fused QKV [tokens][(HQ + 2·HK)·D] with guard rows before and after; v must stay untouched.
  {
    const std::size_t W = (HQ + 2 * HK) * D, guard = 37;
    std::vector<float> buf = random_buffer<float>(guard + NT * W + guard, 3);
    for (std::size_t t = 0; t < NT; ++t) {
      std::memcpy(&buf[guard + t * W], &q0[t * HQ * D], HQ * D * sizeof(float));
      std::memcpy(&buf[guard + t * W + HQ * D], &k0[t * HK * D], HK * D * sizeof(float));
    }
    const std::vector<float> before = buf;
    float* base = buf.data() + guard;
    r.apply<TypeParam>(
        posenc::make_head_view(base, NT, HQ, D, static_cast<std::ptrdiff_t>(W), D),
        posenc::make_head_view(base + HQ * D, NT, HK, D, static_cast<std::ptrdiff_t>(W), D), pos64);
    for (std::size_t t = 0; t < NT; ++t) {
      EXPECT_EQ(std::memcmp(&buf[guard + t * W], &q[t * HQ * D], HQ * D * sizeof(float)), 0);
      EXPECT_EQ(std::memcmp(&buf[guard + t * W + HQ * D], &k[t * HK * D], HK * D * sizeof(float)),
                0);
      // v part and pass-through channels untouched
      EXPECT_EQ(std::memcmp(&buf[guard + t * W + (HQ + HK) * D],
                            &before[guard + t * W + (HQ + HK) * D], HK * D * sizeof(float)),
                0);
    }
    EXPECT_EQ(std::memcmp(buf.data(), before.data(), guard * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(&buf[guard + NT * W], &before[guard + NT * W], guard * sizeof(float)), 0);
  }
  // apply_one on a single head equals the view path.
  {
    std::vector<float> one(q0.begin(), q0.begin() + D);
    r.apply_one<TypeParam>(one.data(), pos32[0]);
    EXPECT_EQ(std::memcmp(one.data(), q.data(), D * sizeof(float)), 0);
  }
}

// hf_f32 mode rotates with the HF coefficients: the result equals the exact-mode kernel applied
// with HF's cos/sin, and differs from exact mode at long range (the reason the mode exists).
TYPED_TEST(RopeArch, HfModeUsesHfCoefficients) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const std::size_t D = 128;
  const rope hf = make(D, D, 10000.0, rope_layout::half_split, rope_precision::hf_f32);
  const rope ex = make(D, D, 10000.0, rope_layout::half_split, rope_precision::exact);
  const std::vector<float> x0 = random_buffer<float>(D, 5);
  const std::int64_t p = 65535;
  std::vector<float> xh = x0, xe = x0;
  hf.apply<TypeParam>(posenc::make_head_view(xh.data(), 1, 1, D), &p);
  ex.apply<TypeParam>(posenc::make_head_view(xe.data(), 1, 1, D), &p);
  double max_diff = 0;
  for (std::size_t k = 0; k < D / 2; ++k) {
    const auto cs = hf.cos_sin<float>(p, k);
    const double a = x0[k], b = x0[k + D / 2];
    const double ya = a * cs.first - b * cs.second, yb = a * cs.second + b * cs.first;
    const double scale = std::fabs(a * cs.first) + std::fabs(b * cs.second);
    const double scale_b = std::fabs(a * cs.second) + std::fabs(b * cs.first);
    EXPECT_LE(std::fabs(xh[k] - ya),
              posenc_test::rotation_bound(scale, posenc_test::unit_roundoff(24), 0));
    EXPECT_LE(std::fabs(xh[k + D / 2] - yb),
              posenc_test::rotation_bound(scale_b, posenc_test::unit_roundoff(24), 0));
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(xh[k]) - xe[k]));
  }
  EXPECT_GT(max_diff, 1e-5);  // spec §7: HF's float32 angle is ~1e-3 rad off at p = 65535
}

}  // namespace
