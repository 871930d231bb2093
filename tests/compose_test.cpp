// posenc tests — include/posenc/compose.hpp: no_bias, causal_mask (with and without a sliding
// window), scaled<B>, sum_bias<Bs...> in one pass (value semantics, bit equality with the parts'
// own paths, user value()-only biases, std::cref sharing), add_bias dispatch and
// identity_rotation; the fused pass on every architecture and logits type.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/alibi.hpp>
#include <posenc/compose.hpp>
#include <posenc/ntk_alibi.hpp>
#include <posenc/rotation.hpp>

#include "support/arch_types.hpp"
#include "support/bias_ref.hpp"
#include "support/formats.hpp"
#include "support/sizes.hpp"

namespace {

using posenc_test::same_bits;

using posenc::alibi_bias;
using posenc::causal_mask;
using posenc::sum_bias;
using posenc_test::storage_fmt;

constexpr double kNinf = -std::numeric_limits<double>::infinity();

/// A user bias with only value(): a T5-like bucketed distance penalty plus a padded key.
struct user_bias {
  std::int64_t pad_key = -1;
  double value(std::size_t head, std::int64_t q, std::int64_t k) const {
    if (k == pad_key) return kNinf;
    const std::int64_t d = q > k ? q - k : k - q;
    return -0.03125 * static_cast<double>(head + 1) * static_cast<double>(d < 8 ? d : 8 + d / 16);
  }
};

TEST(CausalMask, ValuesAndSlidingWindow) {
  const causal_mask m{};
  EXPECT_EQ(m.value<double>(0, 5, 5), 0.0);
  EXPECT_EQ(m.value<double>(0, 5, 0), 0.0);
  EXPECT_EQ(m.value<double>(0, 5, 6), kNinf);
  const causal_mask w{4};  // keys q−3 .. q visible
  EXPECT_EQ(w.value<double>(0, 10, 7), 0.0);
  EXPECT_EQ(w.value<double>(0, 10, 6), kNinf);
  EXPECT_EQ(w.value<double>(0, 10, 11), kNinf);
  std::vector<float> row(20, 1.0f);
  w.add_to_row(0, 10, 0, row.data(), row.size());
  for (std::size_t j = 0; j < row.size(); ++j)
    EXPECT_EQ(row[j], (j >= 7 && j <= 10) ? 1.0f : -std::numeric_limits<float>::infinity()) << j;
}

TEST(NoBias, AddsNothing) {
  const posenc::no_bias b;
  std::vector<float> row(9, 0.5f);
  b.add_to_row(0, 3, 0, row.data(), row.size());
  b.add_to(posenc::make_logits_view(row.data(), 3, 3), 0, 0, 0);
  for (float v : row) EXPECT_EQ(v, 0.5f);
  EXPECT_EQ(b.value<double>(0, 1, 9), 0.0);
}

TEST(SumBias, ValueIsTheLeftToRightSumAndMasksWin) {
  const alibi_bias alibi({8});
  const sum_bias s{std::cref(alibi), causal_mask{}, user_bias{}};
  for (std::int64_t q : {0, 5, 100})
    for (std::int64_t k : {0, 3, 5, 99, 100, 101}) {
      const double want = k > q ? kNinf : alibi.value<double>(2, q, k) + user_bias{}.value(2, q, k);
      EXPECT_EQ(s.value<double>(2, q, k), want) << q << " " << k;
    }
  // A sum of a single part is that part; masks only mask.
  const sum_bias one{std::cref(alibi)};
  const sum_bias masks{causal_mask{}, causal_mask{16}};
  EXPECT_EQ(one.value<float>(1, 50, 40), alibi.value<float>(1, 50, 40));
  EXPECT_EQ(masks.value<float>(1, 50, 40), 0.0f);
  EXPECT_EQ(masks.value<float>(1, 50, 30), -std::numeric_limits<float>::infinity());
  EXPECT_FALSE(decltype(masks)::has_values);
  EXPECT_TRUE(decltype(one)::has_values);
}

TEST(SumBias, SharesAFunctorThroughCref) {
  alibi_bias alibi({12});
  const sum_bias s{std::cref(alibi), causal_mask{}};
  const float before = s.value<float>(5, 100, 90);
  alibi.set_slopes(posenc::ntk_alibi_slopes{4.0});
  EXPECT_NE(s.value<float>(5, 100, 90), before) << "the sum sees the new slopes";
  EXPECT_EQ(s.value<float>(5, 100, 90), alibi.value<float>(5, 100, 90));
  const sum_bias copy{alibi, causal_mask{}};  // by value: a snapshot
  alibi.set_slopes(posenc::alibi_slopes{});
  EXPECT_NE(copy.value<float>(5, 100, 90), alibi.value<float>(5, 100, 90));
}

TEST(Scaled, MultipliesValuesAndKeepsMasks) {
  const alibi_bias alibi({4});
  const posenc::scaled s{std::cref(alibi), 0.125};
  EXPECT_EQ(s.value<double>(1, 10, 4), 0.125 * alibi.value<double>(1, 10, 4));
  EXPECT_EQ(s.value<double>(1, 10, 11), kNinf);
  EXPECT_THROW((posenc::scaled{causal_mask{}, 0.0}), std::invalid_argument);
  EXPECT_THROW((posenc::scaled{causal_mask{}, std::nan("")}), std::invalid_argument);
}

TEST(IdentityRotation, LeavesDataAlone) {
  std::vector<float> x(24, 1.5f);
  const std::int64_t pos[2] = {3, 4};
  posenc::identity_rotation{}.apply(posenc::make_head_view(x.data(), 2, 3, 4), pos);
  posenc::identity_rotation{}.apply_inverse(posenc::make_head_view(x.data(), 2, 3, 4),
                                            posenc::make_head_view(x.data(), 2, 3, 4), pos);
  for (float v : x) EXPECT_EQ(v, 1.5f);
}

// ---- the fused pass, every architecture and logits type --------------------------------------

template <class Arch>
class ComposeArch : public ::testing::Test {};
TYPED_TEST_SUITE(ComposeArch, posenc_test::arch_types, posenc_test::arch_names);

// Every element of the bias's tile equals T(C(x) + value<C>) (−∞ where masked): the scalar
// definition of sum_bias, on rows long enough to use every vector path and its tail.
template <class Arch, class T, class B>
void check_against_value(const B& bias, const char* name) {
  using C = posenc::coef_t<T>;
  auto rng = posenc_test::make_rng(std::hash<std::string>{}(name) + sizeof(T));
  std::uniform_real_distribution<double> u(-2, 2);
  const std::size_t R = 13, N = 3 * posenc::lane_count<C, Arch>() + 29, ld = N + 2;
  for (std::int64_t q0 : {std::int64_t{0}, std::int64_t{70}, std::int64_t{1} << 26}) {
    const std::int64_t k0 = q0 > 40 ? q0 - 40 : 0;
    std::vector<T> x(R * ld);
    for (auto& v : x) v = storage_fmt<T>::make(storage_fmt<T>::round(u(rng)));
    std::vector<T> y = x;
    posenc::add_bias<Arch>(
        bias, posenc::make_logits_view(y.data(), R, N, static_cast<std::ptrdiff_t>(ld)), 3, q0, k0);
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t c = 0; c < ld; ++c) {
        const std::size_t i = r * ld + c;
        double want = storage_fmt<T>::get(x[i]);
        if (c < N) {
          const C v = posenc::detail::bias_value<C>(bias, 3, q0 + static_cast<std::int64_t>(r),
                                                    k0 + static_cast<std::int64_t>(c));
          want = v == -std::numeric_limits<C>::infinity()
                     ? kNinf
                     : storage_fmt<T>::round(static_cast<double>(static_cast<C>(want) + v));
        }
        ASSERT_TRUE(posenc_test::same_value(storage_fmt<T>::get(y[i]), want))
            << name << " " << storage_fmt<T>::name << " q0=" << q0 << " (" << r << ", " << c
            << "): " << storage_fmt<T>::get(y[i]) << " vs " << want;
      }
  }
}

template <class Arch, class T>
void all_sums() {
  const alibi_bias alibi({8});
  const alibi_bias sym({8, 8.0, posenc::alibi_mode::symmetric});
  check_against_value<Arch, T>(sum_bias{std::cref(alibi), causal_mask{}}, "alibi+mask");
  check_against_value<Arch, T>(sum_bias{std::cref(sym), user_bias{7}}, "sym+user");
  check_against_value<Arch, T>(
      sum_bias{causal_mask{9}, std::cref(sym), user_bias{}, posenc::scaled{std::cref(alibi), 0.5}},
      "window+sym+user+scaled");
  check_against_value<Arch, T>(sum_bias{causal_mask{}, causal_mask{5}}, "masks");
  check_against_value<Arch, T>(user_bias{3}, "user alone (add_bias generic path)");
  check_against_value<Arch, T>(posenc::scaled{user_bias{}, 2.0}, "scaled user");
}

TYPED_TEST(ComposeArch, FusedPassEqualsScalarDefinition) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  all_sums<Arch, float>();
  all_sums<Arch, double>();
  all_sums<Arch, posenc::bfloat16_t>();
  all_sums<Arch, posenc::float16_t>();
}

template <class Arch, class T>
void single_part_is_bit_identical() {
  // sum_bias{alibi} and sum_bias{alibi, causal_mask} give alibi's own bits (its Toeplitz tile
  // path and its row kernel), and causal_mask alone gives causal_mask's.
  auto rng = posenc_test::make_rng(99 + sizeof(T));
  std::uniform_real_distribution<double> u(-2, 2);
  const alibi_bias alibi({16});
  const std::size_t R = 37, N = 211;
  std::vector<T> x(R * N);
  for (auto& v : x) v = storage_fmt<T>::make(storage_fmt<T>::round(u(rng)));
  std::vector<T> a = x, b = x, c = x, d = x;
  alibi.add_to<Arch>(posenc::make_logits_view(a.data(), R, N), 5, 1000, 900);
  sum_bias{std::cref(alibi)}.template add_to<Arch>(posenc::make_logits_view(b.data(), R, N), 5,
                                                   1000, 900);
  sum_bias{causal_mask{}, std::cref(alibi)}.template add_to<Arch>(
      posenc::make_logits_view(c.data(), R, N), 5, 1000, 900);
  for (std::size_t r = 0; r < R; ++r)
    sum_bias{std::cref(alibi), causal_mask{}}.template add_to_row<Arch>(
        5, 1000 + static_cast<std::int64_t>(r), 900, d.data() + r * N, N);
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_TRUE(same_bits(a[i], b[i])) << storage_fmt<T>::name << " " << i;
    ASSERT_TRUE(same_bits(a[i], c[i])) << storage_fmt<T>::name << " " << i;
    ASSERT_TRUE(same_bits(a[i], d[i])) << storage_fmt<T>::name << " " << i;
  }
}

TYPED_TEST(ComposeArch, SinglePartSumIsBitIdenticalToThePart) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  single_part_is_bit_identical<Arch, float>();
  single_part_is_bit_identical<Arch, double>();
  single_part_is_bit_identical<Arch, posenc::bfloat16_t>();
}

TEST(SumBias, MaskPartsCommute) {
  const alibi_bias alibi({4});
  const sum_bias a{std::cref(alibi), causal_mask{6}};
  const sum_bias b{causal_mask{6}, std::cref(alibi)};
  std::vector<float> x(64 * 64, 0.25f), y = x;
  a.add_to(posenc::make_logits_view(x.data(), 64, 64), 1, 30, 0);
  b.add_to(posenc::make_logits_view(y.data(), 64, 64), 1, 30, 0);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same_bits(x[i], y[i])) << i;
}

}  // namespace
