// posenc tests — static and dynamic NTK scaling, posenc/scaling/ntk.hpp
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling/ntk.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;
using posenc_test::ulp_diff;

TEST(ScalingNtk, MatchesOracle) { posenc_test::check_file("ntk"); }
TEST(ScalingDynamicNtk, MatchesOracle) { posenc_test::check_file("dynamic"); }

TEST(ScalingNtk, AlphaOneIsPlainRope) {
  for (double base : {10000.0, 500000.0})
    for (std::size_t r : {32u, 64u, 128u}) {
      const posenc::rope_config cfg{128, r, base};
      expect_same_tables(posenc::rope(cfg, posenc::ntk_scaling{1.0}), posenc::rope(cfg), "ntk{1}");
    }
}

// bloc97: base' = b·α^(r/(r−2)) keeps θ_0 and divides the lowest frequency by exactly α.
TEST(ScalingNtk, KeepsHighestDividesLowestByAlpha) {
  for (double alpha : {2.0, 4.0, 8.0}) {
    const posenc::rope_config cfg{128, 128, 10000.0};
    const posenc::rope plain(cfg), ntk(cfg, posenc::ntk_scaling{alpha});
    EXPECT_EQ(ntk.inv_freq(0), 1.0);
    const std::size_t last = plain.pairs() - 1;
    EXPECT_LE(ulp_diff(ntk.inv_freq(last), plain.inv_freq(last) / alpha), 1u) << alpha;
    for (std::size_t k = 1; k < plain.pairs(); ++k) EXPECT_LT(ntk.inv_freq(k), plain.inv_freq(k));
  }
  const posenc::rope_dims d{128, 128, 10000.0};
  EXPECT_NEAR(posenc::ntk_scaling{2.0}.scaled_base(d), 10000.0 * std::pow(2.0, 128.0 / 126.0),
              1e-9);
}

TEST(ScalingDynamicNtk, PlainUpToTheOriginalLength) {
  const posenc::rope_config cfg{128, 128, 10000.0};
  const posenc::rope plain(cfg);
  for (double s : {1.0, 2.0, 8.0}) {
    for (std::size_t L : {0u, 1u, 2048u, 4096u}) {
      posenc::dynamic_ntk_scaling cur{s, 4096, L, 0};
      expect_same_tables(posenc::rope(cfg, cur), plain, "dynamic current " + std::to_string(L));
      if (L == 0) continue;
      posenc::dynamic_ntk_scaling srv{s, 4096, 0, L};  // served below L0: clamped (vLLM #52665)
      expect_same_tables(posenc::rope(cfg, srv), plain, "dynamic served " + std::to_string(L));
    }
  }
}

// α = s·L/L0 − (s − 1): with s = 1 beyond L0, α = L/L0 (HF's formula; not plain RoPE).
TEST(ScalingDynamicNtk, AlphaFormulaAndFactorOneBeyondL0) {
  const posenc::rope_dims d{128, 128, 10000.0};
  posenc::dynamic_ntk_scaling p{2.0, 4096, 3 * 4096, 0};
  EXPECT_EQ(p.alpha(), 2.0 * 3.0 - 1.0);
  EXPECT_EQ(p.effective_length(), 3u * 4096u);
  const posenc::rope a(posenc::rope_config{128, 128, 10000.0}, p);
  const posenc::rope b(posenc::rope_config{128, 128, 10000.0}, posenc::ntk_scaling{5.0});
  for (std::size_t k = 0; k < a.pairs(); ++k) EXPECT_EQ(a.inv_freq(k), b.inv_freq(k)) << k;
  posenc::dynamic_ntk_scaling one{1.0, 4096, 8192, 0};
  EXPECT_EQ(one.alpha(), 2.0);
  EXPECT_NEAR(one.scaled_base(d), 10000.0 * std::pow(2.0, 128.0 / 126.0), 1e-9);
}

// Current length (HF) and served length (vLLM) give the same exact frequencies for the same
// length; the difference is who picks the length, and HF's float32 arithmetic beyond L0.
TEST(ScalingDynamicNtk, CurrentAndServedAgreeInExactMode) {
  const posenc::rope_config cfg{128, 64, 500000.0};
  const posenc::rope cur(cfg, posenc::dynamic_ntk_scaling{4.0, 2048, 10000, 0});
  const posenc::rope srv(cfg, posenc::dynamic_ntk_scaling{4.0, 2048, 0, 10000});
  for (std::size_t k = 0; k < cur.pairs(); ++k) EXPECT_EQ(cur.inv_freq(k), srv.inv_freq(k));
}

// The KV-cache consequence made visible: keys cached under base(L1) and a query rotated under
// base(L2) lose the relative-position property; re-rotating the cached keys restores it.
TEST(ScalingDynamicNtk, CachedKeysNeedReRotationWhenTheBaseChanges) {
  const std::size_t D = 64;
  const posenc::rope_config cfg{D, D, 10000.0};
  const posenc::rope early(cfg, posenc::dynamic_ntk_scaling{4.0, 1024, 1500, 0});
  const posenc::rope late(cfg, posenc::dynamic_ntk_scaling{4.0, 1024, 3000, 0});
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> q(D), k(D);
  for (auto& v : q) v = u(rng);
  for (auto& v : k) v = u(rng);
  auto dot = [&](const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < D; ++i) s += a[i] * b[i];
    return s;
  };
  auto score = [&](const posenc::rope& rq, std::int64_t pq, const posenc::rope& rk,
                   std::int64_t pk) {
    std::vector<double> qq = q, kk = k;
    rq.apply_one(qq.data(), pq);
    rk.apply_one(kk.data(), pk);
    return dot(qq, kk);
  };
  // Same rope for both: depends only on pq − pk.
  EXPECT_NEAR(score(late, 2900, late, 1400), score(late, 1500, late, 0), 1e-12);
  // Key cached under the early base, query under the late one: not relative any more.
  EXPECT_GT(std::fabs(score(late, 2900, early, 1400) - score(late, 1500, late, 0)), 1e-3);
  // Re-rotate the cached key: early.apply_inverse then late.apply.
  std::vector<double> kk = k, qq = q;
  const std::int64_t pk = 1400, pq = 2900;
  early.apply_one(kk.data(), pk);
  early.apply_inverse(posenc::make_head_view(kk.data(), 1, 1, D), &pk);
  late.apply_one(kk.data(), pk);
  late.apply_one(qq.data(), pq);
  EXPECT_NEAR(dot(qq, kk), score(late, 1500, late, 0), 1e-12);
}

TEST(ScalingNtk, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{64};
  expect_invalid([&] { posenc::rope(cfg, posenc::ntk_scaling{0.5}); }, "alpha", "0.5");
  expect_invalid([&] { posenc::rope(cfg, posenc::ntk_scaling{std::nan("")}); }, "alpha", "nan");
  expect_invalid([&] { posenc::rope(posenc::rope_config{2}, posenc::ntk_scaling{2.0}); },
                 "rotary_dim", "2");
}

TEST(ScalingDynamicNtk, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{64};
  using S = posenc::dynamic_ntk_scaling;
  expect_invalid([&] { posenc::rope(cfg, S{0.9, 4096, 0, 0}); }, "factor", "0.9");
  expect_invalid(
      [&] {
        posenc::rope(cfg, S{std::numeric_limits<double>::infinity(), 4096, 0, 0});
      },
      "factor", "inf");
  expect_invalid([&] { posenc::rope(cfg, S{2.0, 0, 0, 0}); }, "original_max_position", "0");
  expect_invalid([&] { posenc::rope(cfg, S{2.0, 4096, 5000, 8192}); }, "served_length", "8192");
  expect_invalid(
      [&] {
        posenc::rope(posenc::rope_config{2}, S{2.0, 4096, 0, 0});
      },
      "rotary_dim", "2");
}

}  // namespace
