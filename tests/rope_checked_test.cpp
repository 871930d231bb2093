// Checked mode (POSENC_CHECKED) in a release (NDEBUG) build: every rope / rope_cache apply
// validates its views and positions and throws std::invalid_argument naming the field and its
// value, instead of reading out of bounds (a dim-64 view under a head_dim-128 rope). Also the
// always-available rope::check / check_to.
// SPDX-License-Identifier: Apache-2.0
#ifndef NDEBUG
#define NDEBUG 1  // the promise is about release builds: no assert() behind the checks
#endif
#define POSENC_CHECKED 1

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"

namespace {

using posenc::make_head_view;

posenc::rope make(std::size_t head_dim) {
  posenc::rope_config c;
  c.head_dim = head_dim;
  return posenc::rope(c);
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

static_assert(POSENC_CHECKED == 1, "this test is the checked mode");

TEST(RopeChecked, DimMismatchThrowsInsteadOfReadingOutOfBounds) {
  const posenc::rope r = make(128);
  std::vector<float> x(2 * 4 * 64, 1.0f);  // a dim-64 buffer: a dim-128 rope would overrun it
  const std::vector<float> before = x;
  const std::int64_t pos[2] = {0, 1};
  const std::string m = message_of([&] { r.apply(make_head_view(x.data(), 2, 4, 64), pos); });
  EXPECT_NE(m.find("x.dim = 64"), std::string::npos) << m;
  EXPECT_NE(m.find("head_dim = 128"), std::string::npos) << m;
  EXPECT_EQ(x, before) << "nothing written before the check";
  const posenc::rope_cache<float> cache(r, 16);
  const std::string mc = message_of([&] { cache.apply(make_head_view(x.data(), 2, 4, 64), pos); });
  EXPECT_NE(mc.find("x.dim = 64"), std::string::npos) << mc;
}

TEST(RopeChecked, NegativePositionNamesItsIndexAndValue) {
  const posenc::rope r = make(8);
  std::vector<float> q(3 * 2 * 8, 1.0f), k(3 * 1 * 8, 1.0f);
  const std::int32_t pos[3] = {4, 5, -7};
  const std::string m = message_of(
      [&] { r.apply(make_head_view(q.data(), 3, 2, 8), make_head_view(k.data(), 3, 1, 8), pos); });
  EXPECT_NE(m.find("positions[2] = -7"), std::string::npos) << m;
  // outside the token_range the position is not read, so not rejected
  EXPECT_EQ(message_of([&] {
              r.apply(make_head_view(q.data(), 3, 2, 8), make_head_view(k.data(), 3, 1, 8), pos,
                      posenc::token_range{0, 2});
            }),
            "(no exception)");
}

TEST(RopeChecked, NullDataTokenMismatchNullPositionsAndOverlappingHeads) {
  const posenc::rope r = make(8);
  std::vector<float> q(4 * 2 * 8), k(3 * 1 * 8);
  const std::int64_t pos[4] = {0, 1, 2, 3};
  EXPECT_NE(message_of([&] {
              r.apply(make_head_view(static_cast<float*>(nullptr), 4, 2, 8), pos);
            }).find("x.data = null"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              r.apply(make_head_view(q.data(), 4, 2, 8), make_head_view(k.data(), 3, 1, 8), pos);
            }).find("k.tokens = 3"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              r.apply(make_head_view(q.data(), 4, 2, 8), static_cast<const std::int64_t*>(nullptr));
            }).find("positions = null"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              r.apply(make_head_view(q.data(), 4, 2, 8, 16, 4), pos);
            }).find("x.head_stride = 4"),
            std::string::npos);
}

TEST(RopeChecked, ApplyToRejectsHeadMismatchAndPartialOverlapButAllowsAlias) {
  const posenc::rope r = make(8);
  std::vector<float> buf(2 * 2 * 8 + 4, 1.0f);
  std::vector<posenc::bfloat16_t> cache(2 * 3 * 8);
  const std::int64_t pos[2] = {0, 9};
  const auto src = make_head_view(static_cast<const float*>(buf.data()), 2, 2, 8);
  EXPECT_NE(message_of([&] {
              r.apply_to(src, make_head_view(cache.data(), 2, 3, 8), pos);
            }).find("dst.heads = 3"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              r.apply_to(src, make_head_view(buf.data() + 4, 2, 2, 8), pos);
            }).find("dst.data"),
            std::string::npos);
  const auto same = make_head_view(buf.data(), 2, 2, 8);
  EXPECT_EQ(message_of([&] { r.apply_to(same, same, pos); }), "(no exception)");
}

TEST(RopeChecked, ValidCallsRotateAsUsual) {
  const posenc::rope r = make(16);
  const posenc::rope_cache<float> cache(r, 32);
  std::vector<float> a(3 * 2 * 16), b;
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) - 3.0f;
  b = a;
  const std::int64_t pos[3] = {1, 2, 40};
  r.apply(make_head_view(a.data(), 3, 2, 16), pos);
  cache.apply(make_head_view(b.data(), 3, 2, 16), pos);
  EXPECT_EQ(a, b);  // the cache's values are the functor's, bit for bit (rope_test)
  r.apply_inverse(make_head_view(a.data(), 3, 2, 16), pos);
  EXPECT_NE(a, b);
}

TEST(RopeCheck, AvailableWithoutCheckedMode) {
  const posenc::rope r = make(128);
  std::vector<float> x(64);
  const std::int64_t pos[1] = {0};
  EXPECT_NE(
      message_of([&] { r.check(make_head_view(x.data(), 1, 1, 64), pos); }).find("x.dim = 64"),
      std::string::npos);
}

}  // namespace
