// Small API of rope / rope_cache / sinusoidal positions (issue 14 §6): inv_freqs(), the
// cache table and its vLLM cos_sin_cache layout, apply_token (one decode step), integer
// view extents, make_fairseq_positions_from_ids against fairseq's formula.
// SPDX-License-Identifier: Apache-2.0
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/sinusoidal.hpp"

namespace {

posenc::rope make(std::size_t head_dim, std::size_t rotary_dim, posenc::rope_precision prec) {
  posenc::rope_config c;
  c.head_dim = head_dim;
  c.rotary_dim = rotary_dim;
  c.base = 10000.0;
  c.precision = prec;
  return posenc::rope(c);
}

TEST(RopeApi, InvFreqsAreTheTable) {
  const posenc::rope r = make(128, 64, posenc::rope_precision::exact);
  ASSERT_EQ(r.inv_freqs().size(), r.pairs());
  ASSERT_EQ(r.inv_freqs_f32().size(), r.pairs());
  for (std::size_t k = 0; k < r.pairs(); ++k) {
    EXPECT_EQ(r.inv_freqs()[k], r.inv_freq(k));
    EXPECT_EQ(r.inv_freqs_f32()[k], r.inv_freq_f32(k));
  }
  EXPECT_EQ(r.inv_freqs()[0], 1.0);  // θ_0 = base^0
}

// Row p = [cos of pairs 0..r/2-1, sin of pairs 0..r/2-1], rows contiguous: vLLM's
// cos_sin_cache layout [max_position, rotary_dim].
TEST(RopeApi, CacheTableHasTheVllmCosSinLayout) {
  for (auto prec : {posenc::rope_precision::exact, posenc::rope_precision::hf_f32}) {
    const posenc::rope r = make(80, 64, prec);  // partial rotary: rotary_dim 64 of 80
    const posenc::rope_cache<float> cache(r, 300);
    ASSERT_EQ(cache.row_width(), 64u);
    ASSERT_EQ(cache.bytes(), 300u * 64u * sizeof(float));
    for (std::size_t p = 0; p < 300; p += 7) {
      for (std::size_t k = 0; k < r.pairs(); ++k) {
        const auto cs = r.cos_sin<float>(static_cast<std::int64_t>(p), k);
        ASSERT_EQ(cache.table()[p * 64 + k], cs.first) << "p " << p << " k " << k;
        ASSERT_EQ(cache.table()[p * 64 + 32 + k], cs.second) << "p " << p << " k " << k;
      }
      ASSERT_EQ(cache.cos_row(p), cache.table() + p * 64);
    }
  }
}

// The decode call: one position by value, q of Hq heads and k of Hkv heads, contiguous.
TEST(RopeApi, ApplyTokenIsApplyOnOneTokenViews) {
  const posenc::rope r = make(128, 128, posenc::rope_precision::exact);
  const posenc::rope_cache<float> cache(r, 64);
  const int Hq = 32, Hkv = 8, D = 128;  // an engine's int extents (no casts needed)
  std::vector<float> q(Hq * D), k(Hkv * D);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(i % 13) - 6.0f;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<float>(i % 11) - 5.0f;
  for (std::int64_t step : {std::int64_t{0}, std::int64_t{63}, std::int64_t{5000}}) {
    std::vector<float> q1 = q, k1 = k, q2 = q, k2 = k, q3 = q, k3 = k;
    r.apply_token(q1.data(), Hq, k1.data(), Hkv, step);
    cache.apply_token(q3.data(), Hq, k3.data(), Hkv, step);
    r.apply(posenc::make_head_view(q2.data(), 1, Hq, D),
            posenc::make_head_view(k2.data(), 1, Hkv, D), &step);
    EXPECT_EQ(q1, q2);
    EXPECT_EQ(k1, k2);
    EXPECT_EQ(q3, q2);  // the cache's values are the functor's (in and beyond the table)
    EXPECT_EQ(k3, k2);
    if (step > 0) {
      EXPECT_NE(q1, q);
    }
  }
}

TEST(RopeApi, IntExtentsMakeTheSameViews) {
  float buf[64];
  const int T = 2, H = 4, D = 8;
  const auto a = posenc::make_head_view(buf, T, H, D);
  const auto b = posenc::make_head_view(buf, std::size_t{2}, std::size_t{4}, std::size_t{8});
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.heads, b.heads);
  EXPECT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.token_stride, b.token_stride);
  EXPECT_EQ(a.head_stride, b.head_stride);
  const auto c = posenc::make_head_view(buf, T, H, D, 8, 16);  // BHSD-like strides
  EXPECT_EQ(c.token_stride, 8);
  EXPECT_EQ(c.head_stride, 16);
}

// fairseq utils.make_positions: mask = tokens.ne(padding_idx);
// positions = cumsum(mask) * mask + padding_idx — written out here independently.
std::vector<std::int64_t> fairseq_oracle(const std::vector<int>& tokens, int padding_idx) {
  std::vector<std::int64_t> out(tokens.size());
  std::int64_t cum = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const std::int64_t mask = tokens[t] != padding_idx ? 1 : 0;
    cum += mask;
    out[t] = cum * mask + padding_idx;
  }
  return out;
}

TEST(RopeApi, FairseqPositionsFromTokenIds) {
  const int pad = 1;  // fairseq's default padding_idx
  const std::vector<int> left_padded = {1, 1, 1, 0, 4087, 52, 9, 2};
  const std::vector<int> right_padded = {0, 4087, 52, 1, 1};
  const std::vector<int> with_pad_inside = {0, 1, 7, 1, 8};
  for (const auto& tokens : {left_padded, right_padded, with_pad_inside}) {
    std::vector<std::int64_t> got(tokens.size());
    posenc::make_fairseq_positions_from_ids(tokens.data(), tokens.size(), pad, 0, got.data());
    EXPECT_EQ(got, fairseq_oracle(tokens, pad));
    // the same as the mask form
    std::vector<unsigned char> is_token(tokens.size());
    for (std::size_t t = 0; t < tokens.size(); ++t) is_token[t] = tokens[t] != pad;
    std::vector<std::int32_t> via_mask(tokens.size());
    posenc::make_fairseq_positions(is_token.data(), tokens.size(), pad, 0, via_mask.data());
    for (std::size_t t = 0; t < tokens.size(); ++t) EXPECT_EQ(via_mask[t], got[t]);
  }
  // Incremental decoding: a new token after 7 cached real tokens is at padding_idx + 8.
  const int next[1] = {123};
  std::int64_t p = 0;
  posenc::make_fairseq_positions_from_ids(next, 1, pad, 7, &p);
  EXPECT_EQ(p, pad + 8);
}

}  // namespace
