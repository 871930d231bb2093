// posenc tests — include/posenc/alibi.hpp: slopes against the reference get_slopes / MPT /
// llama.cpp (tests/data/bias_alibi_slopes.txt), bias blocks in every mode and form against the
// arithmetic contract (bias_alibi_blocks.txt), on every architecture and logits type, and the
// properties: tiles summed equal the whole, decode rows equal tile rows, symmetric mode is
// symmetric, the row-invariant forms give the softmax of the relative form under the causal
// mask, Falcon's pre-scale, 16-bit local resolution, explicit positions, nothing written
// outside the view.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/alibi.hpp>
#include <posenc/ntk_alibi.hpp>

#include "support/arch_types.hpp"
#include "support/bias_data.hpp"
#include "support/bias_ref.hpp"
#include "support/formats.hpp"
#include "support/sizes.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc_test::same_bits;

using posenc::alibi_bias;
using posenc::alibi_config;
using posenc::alibi_form;
using posenc::alibi_mode;
using posenc_test::storage_fmt;

constexpr float kNinfF = -std::numeric_limits<float>::infinity();

std::string what_of(const std::invalid_argument& e) { return e.what(); }

template <class F>
std::string thrown(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return what_of(e);
  }
  return "<no exception>";
}

// ---- configuration ----------------------------------------------------------------------------

TEST(AlibiConfig, InvalidFieldsThrowNamingFieldAndValue) {
  EXPECT_NE(thrown([] { alibi_bias a({0}); }).find("num_heads = 0"), std::string::npos);
  EXPECT_NE(thrown([] { alibi_bias a({8, -1.0}); }).find("max_bias = -1"), std::string::npos);
  EXPECT_NE(thrown([] {
              alibi_bias a({8, std::nan("")});
            }).find("max_bias = nan"),
            std::string::npos);
  alibi_config c{8};
  c.bias_scale = 0.0;
  EXPECT_NE(thrown([&] { alibi_bias a(c); }).find("bias_scale = 0"), std::string::npos);
  c = alibi_config{8};
  c.mode = alibi_mode::symmetric;
  c.form = alibi_form::key_offset;
  EXPECT_NE(thrown([&] { alibi_bias a(c); }).find("form = key_offset"), std::string::npos);
  c = alibi_config{8};
  c.mode = static_cast<alibi_mode>(7);
  EXPECT_NE(thrown([&] { alibi_bias a(c); }).find("mode = 7"), std::string::npos);
  c = alibi_config{8};
  c.form = static_cast<alibi_form>(9);
  EXPECT_NE(thrown([&] { alibi_bias a(c); }).find("form = 9"), std::string::npos);
  // A slope that vanishes in float is rejected (max_bias far too large).
  EXPECT_NE(thrown([] { alibi_bias a({1, 200.0}); }).find("slope"), std::string::npos);
}

TEST(AlibiConfig, RejectedSlopePolicyLeavesSlopesUnchanged) {
  alibi_bias a({12});
  std::vector<double> before(12);
  for (std::size_t h = 0; h < 12; ++h) before[h] = a.effective_slope(h);
  EXPECT_THROW(a.set_slopes(posenc::ntk_alibi_slopes{-1.0}), std::invalid_argument);
  EXPECT_THROW(a.set_slopes(posenc::ntk_alibi_slopes{1e300}), std::invalid_argument);
  for (std::size_t h = 0; h < 12; ++h) {
    EXPECT_EQ(a.effective_slope(h), before[h]) << h;
    EXPECT_EQ(a.slope(h), before[h]) << h;
    EXPECT_EQ(a.slope_as<float>(h), static_cast<float>(before[h])) << h;
  }
  EXPECT_STREQ(a.slopes_name(), "alibi");
}

TEST(AlibiConfig, Observers) {
  alibi_config c{40, 16.0, alibi_mode::symmetric};
  alibi_bias a(c);
  EXPECT_EQ(a.num_heads(), 40u);
  EXPECT_EQ(a.mode(), alibi_mode::symmetric);
  EXPECT_EQ(a.form(), alibi_form::relative);
  EXPECT_EQ(a.dims().max_bias, 16.0);
  EXPECT_STREQ(a.slopes_name(), "alibi");
}

// ---- slopes against the oracle ------------------------------------------------------------------

TEST(AlibiOracle, SlopesForEveryHeadCountAndMaxBias) {
  // Bound: the exponent is exact in long double and exp2l is within ~1 ulp of long double
  // (2^-63 relative), so one rounding to double is within 0.5 + 2^-10 ulp of 2^x: at most 1
  // ulp from the correctly rounded slope_f64, and equal unless 2^x lies within 2^-10 ulp of a
  // midpoint. The float slope is RN32 of the double one (documented); RN32(RN64(x)) is within
  // 1 ulp of RN32(x) (double rounding).
  const auto rows = posenc_test::load_alibi_slopes();
  ASSERT_EQ(rows.size(), 3524u);
  std::size_t exact = 0;
  for (const auto& r : rows) {
    alibi_bias a({static_cast<std::size_t>(r.heads), r.max_bias});
    const double m = a.slope(static_cast<std::size_t>(r.head));
    const auto d = posenc_test::ulp_distance(m, r.slope_f64);
    ASSERT_LE(d, 1) << "H=" << r.heads << " h=" << r.head << " B=" << r.max_bias << ": " << m
                    << " vs " << r.slope_f64;
    exact += d == 0;
    const float mf = a.slope_as<float>(static_cast<std::size_t>(r.head));
    ASSERT_EQ(mf, static_cast<float>(m));
    ASSERT_LE(posenc_test::ulp_distance(mf, static_cast<float>(r.slope_f32)), 1);
    ASSERT_EQ(a.effective_slope(static_cast<std::size_t>(r.head)), m) << "bias_scale 1";
  }
  EXPECT_EQ(exact, rows.size()) << "every slope correctly rounded";
}

TEST(AlibiOracle, ReferenceListsFor12And6Heads) {
  // ofirpress/attention_with_linear_biases `get_slopes(12)` and `get_slopes(6)`, written out
  // (powers of two are exact).
  alibi_bias a12({12});
  const double want12[] = {0.5,
                           0.25,
                           0.125,
                           0.0625,
                           0.03125,
                           0.015625,
                           0.0078125,
                           0.00390625,
                           std::sqrt(0.5),
                           std::sqrt(0.5) / 2,
                           std::sqrt(0.5) / 4,
                           std::sqrt(0.5) / 8};
  for (std::size_t h = 0; h < 12; ++h) EXPECT_EQ(a12.slope(h), want12[h]) << h;
  alibi_bias a6({6});
  const double want6[] = {0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256, 0.5, 0.125};
  for (std::size_t h = 0; h < 6; ++h) EXPECT_EQ(a6.slope(h), want6[h]) << h;
  alibi_bias a1({1});
  EXPECT_EQ(a1.slope(0), 1.0 / 256);
  alibi_bias z({5, 0.0});  // llama.cpp: max_bias 0 → slope 1
  for (std::size_t h = 0; h < 5; ++h) EXPECT_EQ(z.slope(h), 1.0);
}

TEST(AlibiOracle, PowerOfTwoHeadsAreGeometric) {
  for (std::size_t H : {1u, 2u, 4u, 8u, 16u, 32u, 64u}) {
    alibi_bias a({H});
    const long double r = a.slope(0);
    for (std::size_t h = 1; h < H; ++h)
      EXPECT_LE(std::fabs(a.slope(h) / (a.slope(h - 1) * r) - 1.0L), 4 * 0x1p-53L) << H << " " << h;
  }
}

// ---- blocks against the oracle, every arch and logits type ------------------------------------

template <class Arch>
class AlibiArch : public ::testing::Test {};
TYPED_TEST_SUITE(AlibiArch, posenc_test::arch_types, posenc_test::arch_names);

alibi_bias make_block_bias(const posenc_test::alibi_block_row& b) {
  alibi_config c{static_cast<std::size_t>(b.heads), b.max_bias};
  c.mode = b.mode == "causal" ? alibi_mode::causal : alibi_mode::symmetric;
  c.form = b.form == "relative" ? alibi_form::relative : alibi_form::key_offset;
  c.key_origin = b.key_origin;
  c.bias_scale = b.bias_scale;
  return alibi_bias(c);
}

// Expected stored logit for a zero-initialised (−0) logit: −0 + v = v for every v, so the
// stored value is v rounded to T; v_f32 is already RN32, 16-bit rounds it once more.
template <class T>
double expected(const posenc_test::alibi_block_row& b, std::size_t i) {
  if constexpr (std::is_same<T, double>::value) {
    return b.v_f64[i];
  } else {
    return storage_fmt<T>::round(b.v_f32[i]);
  }
}

template <class Arch, class T>
void check_blocks() {
  const auto blocks = posenc_test::load_alibi_blocks();
  ASSERT_EQ(blocks.size(), 17u);
  for (const auto& b : blocks) {
    const alibi_bias a = make_block_bias(b);
    const std::size_t R = static_cast<std::size_t>(b.rows), Cn = static_cast<std::size_t>(b.cols);
    const std::size_t ld = Cn + 5;  // a strided tile inside a larger matrix
    std::ostringstream what;
    what << storage_fmt<T>::name << " " << b.mode << " " << b.form << " H=" << b.heads
         << " h=" << b.head << " q0=" << b.q_first << " k0=" << b.k_first;
    const T sentinel = storage_fmt<T>::make(storage_fmt<T>::round(7.0));
    const T neg_zero = storage_fmt<T>::make(-0.0);
    // 1. tile path, 2. row path, 3. explicit positions, 4. materialize
    for (int path = 0; path < 4; ++path) {
      std::vector<T> m(R * ld, sentinel);
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < Cn; ++c) m[r * ld + c] = neg_zero;
      const auto view = posenc::make_logits_view(m.data(), R, Cn, static_cast<std::ptrdiff_t>(ld));
      const std::size_t head = static_cast<std::size_t>(b.head);
      if (path == 0) {
        a.add_to<Arch>(view, head, b.q_first, b.k_first);
      } else if (path == 1) {
        for (std::size_t r = 0; r < R; ++r)
          a.add_to_row<Arch>(head, b.q_first + static_cast<std::int64_t>(r), b.k_first, view.row(r),
                             Cn);
      } else if (path == 2) {
        std::vector<std::int64_t> qp(R), kp(Cn);
        for (std::size_t r = 0; r < R; ++r) qp[r] = b.q_first + static_cast<std::int64_t>(r);
        for (std::size_t c = 0; c < Cn; ++c) kp[c] = b.k_first + static_cast<std::int64_t>(c);
        a.add_to<Arch>(view, head, qp.data(), kp.data());
      } else {
        a.materialize<Arch>(view, head, b.q_first, b.k_first);
      }
      for (std::size_t r = 0; r < R; ++r) {
        for (std::size_t c = 0; c < ld; ++c) {
          const double got = storage_fmt<T>::get(m[r * ld + c]);
          if (c >= Cn) {
            ASSERT_EQ(got, storage_fmt<T>::get(sentinel)) << what.str() << " wrote outside";
            continue;
          }
          double want = expected<T>(b, r * Cn + c);
          if (path == 3 && want == 0) want = 0.0;  // materialize writes +0 for a ±0 bias
          ASSERT_TRUE(posenc_test::same_value(got, want))
              << what.str() << " path " << path << " (" << r << ", " << c << "): " << got << " vs "
              << want;
        }
      }
    }
    // The scalar definition, bit for bit (−0 included).
    using C = posenc::coef_t<T>;
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t c = 0; c < Cn; ++c) {
        const C v =
            a.value<C>(static_cast<std::size_t>(b.head), b.q_first + static_cast<std::int64_t>(r),
                       b.k_first + static_cast<std::int64_t>(c));
        const double want =
            std::is_same<C, double>::value ? b.v_f64[r * Cn + c] : b.v_f32[r * Cn + c];
        ASSERT_TRUE(posenc_test::same_value(v, want))
            << what.str() << " value(" << r << ", " << c << ")";
      }
  }
}

TYPED_TEST(AlibiArch, BlocksMatchOracleInEveryModeAndForm) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  check_blocks<Arch, float>();
  check_blocks<Arch, double>();
  check_blocks<Arch, posenc::bfloat16_t>();
  check_blocks<Arch, posenc::float16_t>();
}

TEST(AlibiOracle, BlockValuesAreWithinTwoRoundingsOfExactBias) {
  // The contract's bias is RN(RN(m_eff)·RN(e)); against the exact −m·bias_scale·|Δ| it is within
  // (2u + u²)·|m_eff·e| + |m_eff·bias_scale rounding| — checked here so the data itself is
  // known to be the ALiBi bias (not just self-consistent), with u = 2^-24 / 2^-53 and one more
  // u for the double product m·bias_scale.
  for (const auto& b : posenc_test::load_alibi_blocks()) {
    const alibi_bias a = make_block_bias(b);
    const long double m =
        static_cast<long double>(a.slope(static_cast<std::size_t>(b.head))) * b.bias_scale;
    for (int r = 0; r < b.rows; ++r)
      for (int c = 0; c < b.cols; ++c) {
        const std::int64_t q = b.q_first + r, k = b.k_first + c;
        const std::size_t i = static_cast<std::size_t>(r * b.cols + c);
        if (b.mode == "causal" && k > q) {
          ASSERT_EQ(b.v_f32[i], -std::numeric_limits<double>::infinity());
          continue;
        }
        const long double e =
            static_cast<long double>(b.form == "relative" ? k - q : k - b.key_origin);
        const long double exact = b.mode == "symmetric" ? -m * std::fabs(e) : m * e;
        for (int f = 0; f < 2; ++f) {
          const long double u = f == 0 ? 0x1p-24L : 0x1p-53L;
          const double v = f == 0 ? b.v_f32[i] : b.v_f64[i];
          ASSERT_LE(std::fabs(v - exact),
                    (3 * u + u * u) * std::fabs(exact) + 0x1p-60L * std::fabs(exact))
              << b.mode << " " << b.form << " (" << r << ", " << c << ")";
        }
      }
  }
}

// ---- properties ------------------------------------------------------------------------------

template <class Arch, class T>
void tiles_equal_whole(const alibi_bias& a, std::int64_t q0, std::int64_t k0, std::size_t R,
                       std::size_t Cn) {
  auto rng = posenc_test::make_rng(R * 131 + Cn);
  std::uniform_real_distribution<double> d(-3, 3);
  std::vector<T> x(R * Cn);
  for (auto& v : x) v = storage_fmt<T>::make(storage_fmt<T>::round(d(rng)));
  std::vector<T> whole = x, tiled = x, rows = x;
  a.add_to<Arch>(posenc::make_logits_view(whole.data(), R, Cn), 1, q0, k0);
  // irregular tiles
  const std::size_t th[] = {1, 7, 16, 33, 3};
  const std::size_t tw[] = {13, 64, 1, 97, 5};
  std::size_t r0 = 0, i = 0;
  while (r0 < R) {
    const std::size_t nr = std::min(th[i % 5], R - r0);
    std::size_t c0 = 0, j = i;
    while (c0 < Cn) {
      const std::size_t nc = std::min(tw[j % 5], Cn - c0);
      a.add_to<Arch>(posenc::make_logits_view(tiled.data() + r0 * Cn + c0, nr, nc,
                                              static_cast<std::ptrdiff_t>(Cn)),
                     1, q0 + static_cast<std::int64_t>(r0), k0 + static_cast<std::int64_t>(c0));
      c0 += nc;
      ++j;
    }
    r0 += nr;
    ++i;
  }
  for (std::size_t r = 0; r < R; ++r)
    a.add_to_row<posenc::scalar_arch>(1, q0 + static_cast<std::int64_t>(r), k0,
                                      rows.data() + r * Cn, Cn);
  for (std::size_t e = 0; e < R * Cn; ++e) {
    ASSERT_TRUE(same_bits(whole[e], tiled[e])) << "tiles vs whole at " << e / Cn << "," << e % Cn;
    ASSERT_TRUE(same_bits(whole[e], rows[e]))
        << "scalar rows vs whole at " << e / Cn << "," << e % Cn;
  }
}

TYPED_TEST(AlibiArch, TilesSummedEqualTheWholeAndDecodeRows) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  alibi_bias causal({12});
  alibi_bias sym({12, 8.0, alibi_mode::symmetric});
  alibi_config mpt{12};
  mpt.form = alibi_form::key_offset;
  mpt.key_origin = 1200;
  alibi_bias koff(mpt);
  for (const alibi_bias* a : {&causal, &sym, &koff}) {
    tiles_equal_whole<Arch, float>(*a, 1000, 900, 150, 200);
    tiles_equal_whole<Arch, double>(*a, 1000, 900, 61, 77);
    tiles_equal_whole<Arch, posenc::bfloat16_t>(*a, 1000, 900, 40, 90);
    // Larger than one stack table chunk (512 rows × 1024 columns): crosses chunk borders.
    tiles_equal_whole<Arch, float>(*a, 3000, 1500, 530, 1100);
  }
}

// Tiles below, across and above the diagonal, as wide as the register rows of AVX-512 and
// beyond, float and double, causal and symmetric: every element is value() added once, and the
// rows alibi_bias takes as wholly visible without looking (causal: from q0 + r ≥ k0 + n − 1) are.
TYPED_TEST(AlibiArch, RegisterRowTilesEqualValue) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  const alibi_bias causal({12});
  const alibi_bias sym({12, 8.0, alibi_mode::symmetric});
  std::mt19937 rng(9);
  const auto check = [&](const alibi_bias& a, auto tag, std::int64_t q0, std::int64_t k0,
                         std::size_t R, std::size_t N) {
    using C = decltype(tag);
    std::vector<C> t(R * N);
    for (auto& e : t) e = static_cast<C>(rng() % 1000) / C(64);
    const std::vector<C> x0 = t;
    a.add_to<Arch>(posenc::make_logits_view(t.data(), R, N), 7, q0, k0);
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t c = 0; c < N; ++c) {
        const C v =
            a.value<C>(7, q0 + static_cast<std::int64_t>(r), k0 + static_cast<std::int64_t>(c));
        const C want = v == -std::numeric_limits<C>::infinity() ? v : x0[r * N + c] + v;
        ASSERT_TRUE(posenc_test::same_value(t[r * N + c], want))
            << q0 << ',' << k0 << ' ' << R << 'x' << N << " at " << r << ',' << c;
      }
  };
  for (const alibi_bias* a : {&causal, &sym})
    for (const std::size_t N : {1, 15, 16, 17, 128, 135, 136, 256, 271, 272, 300})
      for (const auto& qk : {std::pair<std::int64_t, std::int64_t>{900, 300},
                             {300, 300},
                             {320, 300},
                             {0, 0},
                             {5, 200},
                             {1000, 1000 - 17}}) {
        check(*a, float{}, qk.first, qk.second, 37, N);
        check(*a, double{}, qk.first, qk.second, 37, N);
      }
}

TYPED_TEST(AlibiArch, ExplicitKeyPositionsMatchTheScalarDefinition) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  auto rng = posenc_test::make_rng(77);
  alibi_bias causal({8});
  alibi_bias sym({8, 8.0, alibi_mode::symmetric});
  for (const alibi_bias* a : {&causal, &sym}) {
    for (std::size_t n : posenc_test::lane_sweep({posenc::lane_count<float, Arch>()})) {
      // KV cells after a sequence shift: arbitrary order, gaps, some after the query, some far.
      std::vector<std::int32_t> kp(n);
      std::vector<std::int64_t> kp64(n);
      std::uniform_int_distribution<std::int32_t> near(4900, 5100), far(0, 2000000000);
      for (std::size_t i = 0; i < n; ++i) {
        kp[i] = i % 5 == 4 ? far(rng) : near(rng);
        kp64[i] = kp[i];
      }
      std::vector<float> x(n, 0.5f), y(n, 0.5f);
      std::vector<double> xd(n, 0.5);
      a->add_to_row<Arch>(3, 5000, kp.data(), x.data(), n);
      a->add_to_row<Arch>(3, 5000, kp64.data(), y.data(), n);
      a->add_to_row<Arch>(3, 5000, kp.data(), xd.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        const float want = 0.5f + a->value<float>(3, 5000, kp[i]);
        ASSERT_EQ(x[i], want) << "int32 n=" << n << " i=" << i << " k=" << kp[i];
        ASSERT_EQ(y[i], want) << "int64 n=" << n << " i=" << i;
        ASSERT_EQ(xd[i], 0.5 + a->value<double>(3, 5000, kp[i])) << "double n=" << n << " i=" << i;
      }
    }
  }
}

TEST(AlibiProperties, SymmetricModeIsSymmetric) {
  alibi_bias a({10, 8.0, alibi_mode::symmetric});
  for (std::size_t h = 0; h < 10; ++h)
    for (std::int64_t q : {0, 5, 1000, 123456})
      for (std::int64_t k : {0, 3, 999, 1001, 200000}) {
        ASSERT_EQ(a.value<float>(h, q, k), a.value<float>(h, k, q));
        ASSERT_EQ(a.value<double>(h, q, k), a.value<double>(h, k, q));
        ASSERT_LE(a.value<double>(h, q, k), 0.0);
      }
  // block(q0.., k0..) is the transpose of block(k0.., q0..)
  const std::size_t R = 23, Cn = 41;
  std::vector<float> b1(R * Cn, 0.0f), b2(Cn * R, 0.0f);
  a.add_to(posenc::make_logits_view(b1.data(), R, Cn), 4, 500, 490);
  a.add_to(posenc::make_logits_view(b2.data(), Cn, R), 4, 490, 500);
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t c = 0; c < Cn; ++c) ASSERT_EQ(b1[r * Cn + c], b2[c * R + r]) << r << "," << c;
}

TEST(AlibiProperties, CausalMasksExactlyTheFutureKeys) {
  alibi_bias a({4});
  for (std::int64_t q : {0, 7, 64, 1000}) {
    std::vector<float> row(200, 1.0f);
    a.add_to_row(2, q, 10, row.data(), row.size());
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::int64_t k = 10 + static_cast<std::int64_t>(c);
      if (k > q) {
        ASSERT_EQ(row[c], kNinfF) << q << " " << k;
      } else {
        ASSERT_TRUE(std::isfinite(row[c]));
        ASSERT_LE(row[c], 1.0f);
      }
    }
  }
}

// Softmax of a row of logits s plus the bias of `a` for (head, q, keys k0..): long double.
std::vector<long double> biased_softmax(const alibi_bias& a, const std::vector<double>& s,
                                        std::size_t head, std::int64_t q, std::int64_t k0) {
  std::vector<double> x = s;
  a.add_to_row(head, q, k0, x.data(), x.size());
  return posenc_test::softmax_ld(x);
}

TEST(AlibiProperties, RowInvariantFormsGiveTheRelativeSoftmaxUnderTheCausalMask) {
  // BLOOM/fairseq/FA2 (+m·k), MPT (m·(k − last)) and the relative form differ by a per-row
  // constant c = m·(q − origin). In double each biased logit s + v is within u·|s + v| + the
  // bias's own error 2u·|v| of the exact one, so a softmax weight p_j moves by at most
  // p_j·2·max_j δ_j (first order), δ_j ≤ 3u·(|s_j| + |v_j|) for each form (u = 2^-53).
  alibi_bias rel({16});
  alibi_config cb{16};
  cb.form = alibi_form::key_offset;
  alibi_bias bloom(cb);
  auto rng = posenc_test::make_rng(5);
  std::normal_distribution<double> nd(0.0, 3.0);
  for (std::int64_t q : {0, 17, 500, 100000}) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(q + 1, 600));
    const std::int64_t k0 = q + 1 - static_cast<std::int64_t>(n);
    std::vector<double> s(n + 9);  // nine future keys, masked in every form
    for (auto& v : s) v = nd(rng);
    alibi_config cm{16};
    cm.form = alibi_form::key_offset;
    cm.key_origin = q;  // MPT: the last key of the prefix gets 0
    alibi_bias mpt(cm);
    for (std::size_t h : {0u, 7u, 15u}) {
      const auto p0 = biased_softmax(rel, s, h, q, k0);
      const double m = rel.effective_slope(h);
      double vmax = 0;
      for (std::size_t j = 0; j < n; ++j)
        vmax = std::max(vmax, std::fabs(s[j]) + m * static_cast<double>(std::max<std::int64_t>(
                                                        q, k0 + static_cast<std::int64_t>(j))));
      const double delta = 3 * 0x1p-53 * vmax;
      for (const alibi_bias* other : {&bloom, &mpt}) {
        const auto p1 = biased_softmax(*other, s, h, q, k0);
        for (std::size_t j = 0; j < s.size(); ++j) {
          if (j >= n) {
            ASSERT_EQ(p1[j], 0.0L);
            continue;
          }
          ASSERT_LE(std::fabs(p1[j] - p0[j]), p0[j] * 4 * delta + 1e-300L)
              << "q=" << q << " h=" << h << " j=" << j;
        }
      }
      // ...and the raw logits really differ (by the row constant m·(q − origin)):
      std::vector<double> a1(n, 0.0), a2(n, 0.0);
      rel.add_to_row(h, q, k0, a1.data(), n);
      bloom.add_to_row(h, q, k0, a2.data(), n);
      if (q > 0) {
        ASSERT_NE(a1[0], a2[0]);
      }
      ASSERT_NEAR(a2[n - 1] - a1[n - 1], m * static_cast<double>(q), 1e-9 * (1 + m * q));
    }
  }
}

TEST(AlibiProperties, FalconPreScaleEqualsScalingTheUnscaledBias) {
  // Falcon: (q·k + bias)·s. With bias_scale = s the functor adds bias·s after the scale.
  const double s = 1.0 / std::sqrt(64.0);
  alibi_config c{8};
  c.bias_scale = s;
  alibi_bias falcon(c), plain({8});
  for (std::size_t h = 0; h < 8; ++h) {
    EXPECT_EQ(falcon.slope(h), plain.slope(h)) << "slope() reports the unscaled slope";
    EXPECT_EQ(falcon.effective_slope(h), plain.slope(h) * s);  // s = 1/8: exact
    for (std::int64_t d : {0, 1, 5, 1000})
      EXPECT_EQ(falcon.value<double>(h, 2000, 2000 - d),
                plain.value<double>(h, 2000, 2000 - d) * s);
  }
}

TEST(AlibiProperties, SixteenBitLogitsKeepLocalResolutionInTheRelativeForm) {
  // At query position 10^6, the relative bias of the 8 nearest keys is −m·Δ, small and exact in
  // bf16 for m = 1/2; the row-invariant +m·k form is ≈ 5·10^5 there, where bf16's spacing is
  // 2048: every one of those keys gets the same logit and the local ordering is lost
  // (the BLOOM/HF `build_alibi_tensor` row-invariant form in a 16-bit dtype) — why relative is
  // the default.
  alibi_bias rel({8});  // head 0: m = 1/2
  alibi_config ck{8};
  ck.form = alibi_form::key_offset;
  alibi_bias bloom(ck);
  const std::int64_t q = 1000000;
  std::vector<posenc::bfloat16_t> a(8, posenc::bfloat16_t{0}), b(8, posenc::bfloat16_t{0});
  rel.add_to_row(0, q, q - 7, a.data(), 8);
  bloom.add_to_row(0, q, q - 7, b.data(), 8);
  for (std::size_t j = 0; j < 8; ++j) {
    EXPECT_EQ(storage_fmt<posenc::bfloat16_t>::get(a[j]), -0.5 * static_cast<double>(7 - j)) << j;
    EXPECT_EQ(storage_fmt<posenc::bfloat16_t>::get(b[j]),
              storage_fmt<posenc::bfloat16_t>::get(b[0]))
        << "key_offset collapses in bf16 at " << j;
  }
}

TEST(AlibiProperties, DynamicSlopesViaSetSlopes) {
  alibi_bias a({12});
  const alibi_bias ref12({12});
  a.set_slopes(posenc::ntk_alibi_slopes{posenc::dynamic_alibi_factor(1.0, 1024, 2048)});
  for (std::size_t h = 0; h < 12; ++h) EXPECT_EQ(a.slope(h), ref12.slope(h)) << "a clamps to 1";
  a.set_slopes(posenc::ntk_alibi_slopes{posenc::dynamic_alibi_factor(2.0, 4096, 2048)});  // a = 4
  const alibi_bias ntk4({12}, posenc::ntk_alibi_slopes{4.0});
  for (std::size_t h = 0; h < 12; ++h) EXPECT_EQ(a.slope(h), ntk4.slope(h));
  EXPECT_STREQ(a.slopes_name(), "ntk_alibi_code");
}

}  // namespace

namespace {
TEST(AlibiSlopes, WriteSlopesIsTheEffectiveSlopeOfEveryHead) {
  posenc::alibi_config cfg;
  cfg.num_heads = 12;
  cfg.bias_scale = 0.125;
  const posenc::alibi_bias a(cfg);
  std::vector<float> f(12, -1.0f);
  std::vector<double> d(12, -1.0);
  a.write_slopes(f.data());
  a.write_slopes(d.data());
  for (std::size_t h = 0; h < 12; ++h) {
    EXPECT_EQ(d[h], a.effective_slope(h)) << h;
    EXPECT_EQ(f[h], static_cast<float>(a.effective_slope(h))) << h;
    EXPECT_EQ(d[h], a.slope(h) * 0.125) << h;
  }
}
}  // namespace
