// posenc tests — issue 16, defects 3, 5 and 8 in attention.hpp, alibi.hpp and compose.hpp:
// reference_attention checks the rotation and the bias against the shapes and positions near
// INT64_MAX; ALiBi's bias_scale is validated in float and key_origin is a position (>= 0); no
// signed overflow at extreme but valid arguments (the sanitizer builds run this under UBSan).
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/alibi.hpp>
#include <posenc/attention.hpp>
#include <posenc/compose.hpp>
#include <posenc/rope.hpp>

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

template <class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return std::string();
}

// --- defect 3: reference_attention checks the rotation and the bias against the shapes --------

TEST(HostileBias, AttentionRejectsRopeOfAnotherHeadDim) {
  posenc::rope_config rc;
  rc.head_dim = 64;  // q/k have dim 32: the rope would rotate 64 channels per head
  const posenc::rope rope(rc);
  const std::size_t T = 4, H = 2, D = 32;
  std::vector<float> q(T * H * D, 0.5f), k(T * H * D, 0.25f), v(T * H * D, 1.0f), o(T * H * D);
  const std::string m = message_of([&] {
    posenc::reference_attention(
        posenc::make_head_view(q.data(), T, H, D), posenc::make_head_view(k.data(), T, H, D),
        posenc::make_head_view(v.data(), T, H, D), posenc::make_head_view(o.data(), T, H, D), rope);
  });
  ASSERT_FALSE(m.empty()) << "accepted a rope of head_dim 64 for q.dim 32 (heap overflow)";
  EXPECT_NE(m.find("head_dim"), std::string::npos) << m;
  EXPECT_NE(m.find("q.dim"), std::string::npos) << m;
}

TEST(HostileBias, AttentionRejectsAlibiWithFewerHeads) {
  posenc::alibi_config ac;
  ac.num_heads = 2;  // q has 4 heads: heads 2 and 3 would read past the slope table
  const posenc::alibi_bias alibi(ac);
  const std::size_t T = 4, Hq = 4, Hk = 2, D = 16;
  std::vector<float> q(T * Hq * D, 0.5f), k(T * Hk * D, 0.25f), v(T * Hk * D, 1.0f), o(T * Hq * D);
  const std::string m = message_of([&] {
    posenc::reference_attention(
        posenc::make_head_view(q.data(), T, Hq, D), posenc::make_head_view(k.data(), T, Hk, D),
        posenc::make_head_view(v.data(), T, Hk, D), posenc::make_head_view(o.data(), T, Hq, D),
        posenc::identity_rotation{}, alibi);
  });
  ASSERT_FALSE(m.empty()) << "accepted an ALiBi of 2 heads for 4 query heads";
  EXPECT_NE(m.find("num_heads"), std::string::npos) << m;
  EXPECT_NE(m.find("q.heads"), std::string::npos) << m;
}

// --- defect 5: bias_scale validated in float (the docs promise it) ----------------------------

TEST(HostileBias, AlibiBiasScaleInfiniteInFloat) {
  for (double s : {1e300, 1e39}) {
    posenc::alibi_config ac;
    ac.num_heads = 8;
    ac.bias_scale = s;
    const std::string m = message_of([&] { posenc::alibi_bias a(ac); });
    ASSERT_FALSE(m.empty()) << "bias_scale " << s << " accepted: float biases are -inf/NaN";
    EXPECT_NE(m.find("bias_scale"), std::string::npos) << m;
  }
}

// --- defect 8: no signed overflow at extreme but valid arguments (run under UBSan) ------------

TEST(HostileBias, AlibiRowAtInt64Max) {
  posenc::alibi_config ac;
  ac.num_heads = 4;
  const posenc::alibi_bias alibi(ac);
  std::vector<float> row(8, 0.0f);
  alibi.add_to_row(0, kMax, 0, row.data(), row.size());  // q_pos − k_first + 1 overflowed
  for (float x : row) EXPECT_FALSE(std::isnan(x));
  std::vector<float> tile(2 * 4, 0.0f);
  alibi.add_to(posenc::make_logits_view(tile.data(), 2, 4), 1, kMax - 1, kMax - 3);
  for (float x : tile) EXPECT_FALSE(std::isnan(x));
  // Row r = 1 (q = kMax) sees keys kMax−3 … kMax: biases −3m, −2m, −m, 0.
  EXPECT_EQ(tile[4 + 3], 0.0f);
  EXPECT_LT(tile[4 + 0], tile[4 + 1]);
}

TEST(HostileBias, AlibiKeyOffsetOriginIsAPosition) {
  posenc::alibi_config ac;
  ac.num_heads = 4;
  ac.form = posenc::alibi_form::key_offset;
  ac.key_origin = kMin;  // pos_k − key_origin would overflow for every pos_k >= 0
  const std::string m = message_of([&] { posenc::alibi_bias a(ac); });
  EXPECT_NE(m.find("key_origin"), std::string::npos) << m;
  // The largest origin is fine: every offset pos_k − key_origin is representable.
  ac.key_origin = kMax;
  const posenc::alibi_bias alibi(ac);
  std::vector<float> row(8, 0.0f);
  alibi.add_to_row(0, kMax, 0, row.data(), row.size());
  for (float x : row) EXPECT_FALSE(std::isnan(x));
  EXPECT_LT(row[0], 0.0f);
}

TEST(HostileBias, CausalMaskHugeWindow) {
  posenc::causal_mask mask;
  mask.window = std::size_t{1} << 63;  // static_cast<int64_t>(window) is INT64_MIN
  std::vector<float> row(8, 0.0f);
  mask.add_to_row(0, 5, 0, row.data(), row.size());
  for (std::size_t j = 0; j < row.size(); ++j) {
    if (j <= 5) {
      EXPECT_EQ(row[j], 0.0f) << j;  // an unlimited window: every past key visible
    } else {
      EXPECT_EQ(row[j], -std::numeric_limits<float>::infinity()) << j;
    }
  }
  std::vector<float> row2(4, 0.0f);
  mask.add_to_row(0, kMax, kMax - 3, row2.data(), row2.size());
  for (float x : row2) EXPECT_EQ(x, 0.0f);
}

TEST(HostileBias, AttentionPositionsNearInt64Max) {
  const std::size_t T = 4, H = 1, D = 8;
  std::vector<float> q(T * H * D, 0.5f), k(T * H * D, 0.25f), v(T * H * D, 1.0f), o(T * H * D);
  auto run = [&](std::int64_t q_first, std::int64_t k_first) {
    posenc::attention_options opt;
    opt.q_first = q_first;
    opt.k_first = k_first;
    posenc::reference_attention(
        posenc::make_head_view(q.data(), T, H, D), posenc::make_head_view(k.data(), T, H, D),
        posenc::make_head_view(v.data(), T, H, D), posenc::make_head_view(o.data(), T, H, D),
        posenc::identity_rotation{}, posenc::no_bias{}, opt);
  };
  // k_first + k.tokens − 1 and q_first + q.tokens − 1 beyond INT64_MAX: rejected, naming them.
  EXPECT_NE(message_of([&] { run(0, kMax - 1); }).find("k_first"), std::string::npos);
  EXPECT_NE(message_of([&] { run(kMax - 1, 0); }).find("q_first"), std::string::npos);
  // The last representable window is fine (no overflow in q_first + t, k_first + t).
  EXPECT_TRUE(message_of([&] { run(kMax - 3, kMax - 3); }).empty());
  for (float x : o) EXPECT_FLOAT_EQ(x, 1.0f);
}

}  // namespace
