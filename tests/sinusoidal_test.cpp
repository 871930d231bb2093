// posenc tests — include/posenc/sinusoidal.hpp: the three conventions (interleaved 2i/d;
// t2t/fairseq concat i/(d/2−1); Marian concat 2i/d) including odd widths and d = 1, 2, against
// mpmath (tests/data/bias_sinusoidal.txt) up to position 1.6·10^7; fill / add_to on every
// architecture and storage type against the scalar definition; the precomputed table; fairseq
// positions and the zero padding row; offsets; strided views and token ranges.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/sinusoidal.hpp>

#include "support/arch_types.hpp"
#include "support/bias_data.hpp"
#include "support/bias_ref.hpp"
#include "support/sizes.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc::sinusoidal_config;
using posenc::sinusoidal_embedding;
using posenc_test::storage_fmt;

sinusoidal_config convention(const std::string& name, std::size_t d, double base) {
  sinusoidal_config c = name == "paper" ? posenc::sinusoidal_paper(d)
                        : name == "t2t" ? posenc::sinusoidal_t2t(d)
                                        : posenc::sinusoidal_marian(d);
  c.base = base;
  return c;
}

// The frequency index of a channel, from the convention's definition (not from the library).
std::size_t freq_index(const std::string& conv, std::size_t d, std::size_t ch) {
  if (conv == "paper") return ch / 2;
  const std::size_t nsin = conv == "marian" ? (d + 1) / 2 : d / 2;
  return ch < nsin ? ch : ch - nsin;
}

TEST(SinusoidalOracle, FrequenciesAndValuesInEveryConvention) {
  // Frequencies: long-double exp2 of an exact-enough exponent, one rounding: must equal the
  // correctly rounded ω (checked bit for bit, so double values at 10^7 are comparable).
  // Values: sincos of the double angle p·ω (kernels/sincos.hpp: the fdlibm polynomials after a
  // double reduction), within 1 ulp of the correctly rounded float and 2 ulp of the correctly
  // rounded double (the same budget rope_test holds the kernel to); the angle is one product.
  const auto rows = posenc_test::load_sinusoidal();
  ASSERT_EQ(rows.size(), 4272u);
  std::map<std::tuple<std::string, double, int>, sinusoidal_embedding> cache;
  std::size_t checked = 0, f32_exact = 0;
  for (const auto& r : rows) {
    const auto key = std::make_tuple(r.convention, r.base, r.dim);
    auto it = cache.find(key);
    if (it == cache.end())
      it = cache
               .emplace(key, sinusoidal_embedding(
                                 convention(r.convention, static_cast<std::size_t>(r.dim), r.base)))
               .first;
    const sinusoidal_embedding& pe = it->second;
    const std::size_t ch = static_cast<std::size_t>(r.channel);
    std::ostringstream what;
    what << r.convention << " base=" << r.base << " d=" << r.dim << " pos=" << r.pos
         << " ch=" << ch;
    const float vf = pe.value<float>(r.pos, ch);
    const double vd = pe.value<double>(r.pos, ch);
    if (r.omega == 0) {  // t2t pad channel
      ASSERT_EQ(vf, 0.0f) << what.str();
      ASSERT_EQ(vd, 0.0) << what.str();
      continue;
    }
    ASSERT_EQ(pe.frequency(freq_index(r.convention, static_cast<std::size_t>(r.dim), ch)), r.omega)
        << what.str();
    ASSERT_EQ(static_cast<double>(r.pos) * r.omega, r.angle) << what.str();
    const auto df = posenc_test::ulp_distance(vf, static_cast<float>(r.value_f32));
    ASSERT_LE(df, 1) << what.str() << ": " << vf << " vs " << r.value_f32;
    ASSERT_LE(posenc_test::ulp_distance(vd, r.value_f64), 2) << what.str();
    f32_exact += df == 0;
    // Exactness at large positions against the exact frequency: the double angle is within
    // 2·p·ω·2^-53 of p·ω_exact (ω rounding + product rounding), so the double value is within
    // that plus 2 ulp (≤ 2^-52 for |v| ≤ 1) of the ideal one.
    const double bound = 2.0 * static_cast<double>(r.pos) * r.omega * 0x1p-53 + 0x1p-51;
    ASSERT_LE(std::fabs(vd - r.ideal), bound) << what.str();
    ASSERT_LE(std::fabs(static_cast<double>(vf) - r.ideal), bound + 0x1p-24) << what.str();
    ++checked;
  }
  EXPECT_GT(checked, 4000u);
  EXPECT_GE(f32_exact, checked - checked / 100) << "float values correctly rounded but for a few";
}

TEST(SinusoidalConventions, OddWidthsAndTheDEqualsTwoGuard) {
  // Odd d: paper's last channel is a sin, Marian has ceil(d/2) sin columns, t2t pads a zero.
  const sinusoidal_embedding a(posenc::sinusoidal_paper(5)), b(posenc::sinusoidal_t2t(5)),
      c(posenc::sinusoidal_marian(5));
  EXPECT_EQ(a.frequencies(), 3u);
  EXPECT_EQ(b.frequencies(), 2u);
  EXPECT_EQ(c.frequencies(), 3u);
  const std::int64_t p = 3;
  EXPECT_EQ(a.value<double>(p, 4), std::sin(p * a.frequency(2)));
  EXPECT_EQ(b.value<double>(p, 4), 0.0);
  EXPECT_EQ(c.value<double>(p, 2), std::sin(p * c.frequency(2)));
  EXPECT_EQ(c.value<double>(p, 3), std::cos(p * c.frequency(0)));
  // t2t's lowest frequency is exactly base^-1 (exponent i/(d/2 − 1)).
  EXPECT_EQ(sinusoidal_embedding(posenc::sinusoidal_t2t(16)).frequency(7), 1e-4);
  // d = 2 under t2t: max(d/2 − 1, 1) guard, ω_0 = 1, finite values (fairseq divides by 0).
  const sinusoidal_embedding two(posenc::sinusoidal_t2t(2));
  EXPECT_EQ(two.frequency(0), 1.0);
  for (std::int64_t q : {0, 1, 100000}) {
    EXPECT_TRUE(std::isfinite(two.value<float>(q, 0)));
    EXPECT_EQ(two.value<double>(q, 1), std::cos(static_cast<double>(q)));
  }
  // d = 1 under t2t: a single zero channel, as fairseq/t2t produce.
  const sinusoidal_embedding one(posenc::sinusoidal_t2t(1));
  EXPECT_EQ(one.frequencies(), 0u);
  EXPECT_EQ(one.value<float>(5, 0), 0.0f);
}

TEST(SinusoidalConfig, InvalidFieldsThrowNamingFieldAndValue) {
  const auto msg = [](const sinusoidal_config& c) {
    try {
      sinusoidal_embedding e(c);
    } catch (const std::invalid_argument& ex) {
      return std::string(ex.what());
    }
    return std::string("<no exception>");
  };
  EXPECT_NE(msg(sinusoidal_config{}).find("dim = 0"), std::string::npos);
  sinusoidal_config c = posenc::sinusoidal_paper(8);
  c.base = 1.0;
  EXPECT_NE(msg(c).find("base = 1"), std::string::npos);
  c.base = std::nan("");
  EXPECT_NE(msg(c).find("base = nan"), std::string::npos);
  c = posenc::sinusoidal_paper(8);
  c.layout = static_cast<posenc::sinusoidal_layout>(3);
  EXPECT_NE(msg(c).find("layout = 3"), std::string::npos);
  c = posenc::sinusoidal_paper(8);
  c.frequencies = static_cast<posenc::sinusoidal_frequencies>(4);
  EXPECT_NE(msg(c).find("frequencies = 4"), std::string::npos);
}

TEST(SinusoidalFairseq, PositionsPaddingRowAndOffset) {
  // make_positions: left padding does not shift real tokens; pads read row padding_idx = 0s.
  const unsigned char is_token[] = {0, 0, 1, 1, 1, 0};
  std::int64_t pos[6];
  posenc::make_fairseq_positions(is_token, 6, 1, 0, pos);
  const std::int64_t want[] = {1, 1, 2, 3, 4, 1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pos[i], want[i]) << i;
  std::int32_t pos32[6];
  posenc::make_fairseq_positions(is_token, 6, 1, 10, pos32);  // HF past_key_values_length
  EXPECT_EQ(pos32[2], 12);
  EXPECT_EQ(pos32[0], 1);

  const sinusoidal_embedding pe(posenc::sinusoidal_fairseq(16, 1));
  for (std::size_t ch = 0; ch < 16; ++ch) EXPECT_EQ(pe.value<float>(1, ch), 0.0f);
  std::vector<float> x(6 * 16, 0.25f);
  pe.add_to(posenc::make_embed_view(x.data(), 6, 16), pos);
  std::vector<float> t(6 * 16, -1.0f);
  pe.fill(posenc::make_embed_view(t.data(), 6, 16), pos);
  for (int i = 0; i < 6; ++i)
    for (std::size_t ch = 0; ch < 16; ++ch) {
      if (!is_token[i]) {
        EXPECT_EQ(x[static_cast<std::size_t>(i) * 16 + ch], 0.25f) << "pad tokens unchanged";
        EXPECT_EQ(t[static_cast<std::size_t>(i) * 16 + ch], 0.0f) << "pad row is zero";
      } else {
        EXPECT_EQ(t[static_cast<std::size_t>(i) * 16 + ch], pe.value<float>(pos[i], ch));
      }
    }
  // position_offset: passing 0-based token indices with offset padding_idx + 1 is the same.
  sinusoidal_config c = posenc::sinusoidal_fairseq(16, 1);
  c.position_offset = 2;
  const sinusoidal_embedding shifted(c);
  for (std::size_t ch = 0; ch < 16; ++ch) {
    EXPECT_EQ(shifted.value<float>(0, ch), pe.value<float>(2, ch));
    EXPECT_EQ(shifted.value<float>(-1, ch), 0.0f) << "offset −1 + 2 = padding_idx";
  }
}

// ---- every architecture and storage type --------------------------------------------------------

template <class Arch>
class SinusoidalArch : public ::testing::Test {};
TYPED_TEST_SUITE(SinusoidalArch, posenc_test::arch_types, posenc_test::arch_names);

std::vector<sinusoidal_config> arch_configs() {
  std::vector<sinusoidal_config> v;
  for (std::size_t d : {1u, 2u, 3u, 7u, 16u, 33u, 64u, 100u, 301u}) {
    v.push_back(posenc::sinusoidal_paper(d));
    v.push_back(posenc::sinusoidal_t2t(d));
    v.push_back(posenc::sinusoidal_marian(d));
  }
  v.push_back(posenc::sinusoidal_fairseq(64, 1));
  sinusoidal_config off = posenc::sinusoidal_t2t(40);
  off.position_offset = 7;
  off.base = 500.0;
  v.push_back(off);
  return v;
}

template <class Arch, class T>
void fill_and_add(const sinusoidal_config& cfg) {
  using C = posenc::coef_t<T>;
  const sinusoidal_embedding pe(cfg);
  const std::size_t d = cfg.dim, T_ = 9, ld = d + 3;
  const std::int64_t positions[T_] = {0, 1, 1, 2, 17, 4095, 65537, 1000003, 10000000};
  auto rng = posenc_test::make_rng(d * 7 + static_cast<std::size_t>(cfg.layout));
  std::uniform_real_distribution<double> u(-2, 2);
  const T sentinel = storage_fmt<T>::make(storage_fmt<T>::round(3.5));
  std::vector<T> x0(T_ * ld, sentinel);
  for (std::size_t t = 0; t < T_; ++t)
    for (std::size_t c = 0; c < d; ++c)
      x0[t * ld + c] = storage_fmt<T>::make(storage_fmt<T>::round(u(rng)));
  std::ostringstream what;
  what << storage_fmt<T>::name << " d=" << d << " layout=" << static_cast<int>(cfg.layout)
       << " freq=" << static_cast<int>(cfg.frequencies) << " off=" << cfg.position_offset;
  // add_to and fill with int64 and int32 positions, a strided view, tokens [1, 8) only.
  const posenc::token_range range{1, 8};
  std::vector<T> xa = x0, xf = x0, xa32 = x0;
  std::vector<std::int32_t> p32(positions, positions + T_);
  pe.add_to<Arch>(posenc::make_embed_view(xa.data(), T_, d, static_cast<std::ptrdiff_t>(ld)),
                  positions, range);
  pe.add_to<Arch>(posenc::make_embed_view(xa32.data(), T_, d, static_cast<std::ptrdiff_t>(ld)),
                  p32.data(), range);
  pe.fill<Arch>(posenc::make_embed_view(xf.data(), T_, d, static_cast<std::ptrdiff_t>(ld)),
                positions, range);
  // The precomputed table (capacity covers some of the positions), same calls.
  const posenc::sinusoidal_table<T> table(pe, 64, Arch{});  // 0 … 17 inside, the rest on the fly
  std::vector<T> ta = x0, tf = x0;
  table.template add_to<Arch>(
      posenc::make_embed_view(ta.data(), T_, d, static_cast<std::ptrdiff_t>(ld)), positions, range);
  table.template fill<Arch>(
      posenc::make_embed_view(tf.data(), T_, d, static_cast<std::ptrdiff_t>(ld)), positions, range);
  for (std::size_t t = 0; t < T_; ++t) {
    for (std::size_t c = 0; c < ld; ++c) {
      const std::size_t i = t * ld + c;
      const double orig = storage_fmt<T>::get(x0[i]);
      double want_add = orig, want_fill = orig;
      if (c < d && t >= range.first && t < range.last) {
        const C v = pe.value<C>(positions[t], c);
        want_add = storage_fmt<T>::round(static_cast<double>(static_cast<C>(orig) + v));
        want_fill = storage_fmt<T>::round(static_cast<double>(v));
      }
      const auto check = [&](const std::vector<T>& got, double want, const char* path) {
        ASSERT_TRUE(posenc_test::same_value(storage_fmt<T>::get(got[i]), want))
            << what.str() << " " << path << " token " << t << " channel " << c << ": "
            << storage_fmt<T>::get(got[i]) << " vs " << want;
      };
      check(xa, want_add, "add_to");
      check(xa32, want_add, "add_to int32");
      check(xf, want_fill, "fill");
      check(ta, want_add, "table add_to");
      check(tf, want_fill, "table fill");
    }
  }
  // Contiguous positions overloads: fill(out, first) and add_to(x, first).
  std::vector<T> cf(4 * d), ca(4 * d, storage_fmt<T>::make(0.0));
  pe.fill<Arch>(posenc::make_embed_view(cf.data(), 4, d), 1000);
  pe.add_to<Arch>(posenc::make_embed_view(ca.data(), 4, d), 1000);
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t c = 0; c < d; ++c) {
      const double v = storage_fmt<T>::round(
          static_cast<double>(pe.value<C>(1000 + static_cast<std::int64_t>(t), c)));
      ASSERT_TRUE(posenc_test::same_value(storage_fmt<T>::get(cf[t * d + c]), v)) << what.str();
      ASSERT_EQ(storage_fmt<T>::get(ca[t * d + c]), v) << what.str();  // +0 + v
    }
}

TYPED_TEST(SinusoidalArch, FillAndAddMatchTheScalarDefinition) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  for (const auto& cfg : arch_configs()) {
    fill_and_add<Arch, float>(cfg);
    fill_and_add<Arch, double>(cfg);
    fill_and_add<Arch, posenc::bfloat16_t>(cfg);
    fill_and_add<Arch, posenc::float16_t>(cfg);
  }
}

}  // namespace
