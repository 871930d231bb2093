// Tests of include/posenc/eigen.hpp: Eigen::half / Eigen::bfloat16 storage behaves exactly like
// posenc's own 16-bit types (and our conversions round like Eigen's), and head views over
// Eigen matrices, maps and column-major objects equal the raw-pointer path bit for bit.
#include "posenc/eigen.hpp"

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/posenc.hpp"

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

posenc::rope make(std::size_t D, posenc::rope_layout layout) {
  posenc::rope_config c;
  c.head_dim = D;
  c.rotary_dim = D / 2;
  c.base = 10000.0;
  c.layout = layout;
  return posenc::rope(c);
}

// Our float -> 16-bit conversions round to nearest even exactly like Eigen's, for finite values
// over the whole float range (random bit patterns) and at every halfway point of the formats.
TEST(Eigen, ConversionsMatchEigenRounding) {
  std::mt19937 gen(1);
  for (int i = 0; i < 2000000; ++i) {
    std::uint32_t u = gen();
    float f;
    std::memcpy(&f, &u, sizeof f);
    if (!std::isfinite(f)) continue;
    EXPECT_EQ(posenc::to_bfloat16(f).bits,
              Eigen::numext::bit_cast<std::uint16_t>(Eigen::bfloat16(f)))
        << std::hexfloat << f;
    EXPECT_EQ(posenc::to_float16(f).bits, Eigen::numext::bit_cast<std::uint16_t>(Eigen::half(f)))
        << std::hexfloat << f;
  }
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const std::uint16_t b = static_cast<std::uint16_t>(h);
    const float fh = posenc::to_float(posenc::float16_t{b});
    if (!std::isnan(fh)) {
      EXPECT_EQ(fh, static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(b)));
    }
    const float fb = posenc::to_float(posenc::bfloat16_t{b});
    if (!std::isnan(fb)) {
      EXPECT_EQ(fb, static_cast<float>(Eigen::numext::bit_cast<Eigen::bfloat16>(b)));
    }
  }
}

template <class E, class P>
void check_same_as_posenc_type(posenc::rope_layout layout) {
  const std::size_t NT = 5, H = 3, D = 96;
  const posenc::rope r = make(D, layout);
  std::mt19937 gen(2);
  std::uniform_real_distribution<float> dist(-3, 3);
  std::vector<E> e(NT * H * D);
  std::vector<P> p(NT * H * D);
  for (std::size_t i = 0; i < e.size(); ++i) {
    e[i] = E(dist(gen));
    std::memcpy(&p[i], &e[i], 2);
  }
  const std::int64_t pos[NT] = {0, 1, 4096, 100000, 2147483647};
  r.apply(posenc::make_head_view(e.data(), NT, H, D), pos);
  r.apply(posenc::make_head_view(p.data(), NT, H, D), pos);
  ASSERT_EQ(std::memcmp(e.data(), p.data(), e.size() * 2), 0);
  posenc::rope_cache<float> cache(r, 100);
  cache.apply(posenc::make_head_view(e.data(), NT, H, D), pos);
  cache.apply(posenc::make_head_view(p.data(), NT, H, D), pos);
  ASSERT_EQ(std::memcmp(e.data(), p.data(), e.size() * 2), 0);
}

TEST(Eigen, HalfAndBfloat16StorageEqualPosencTypes) {
  for (auto l : {posenc::rope_layout::half_split, posenc::rope_layout::interleaved}) {
    check_same_as_posenc_type<Eigen::half, posenc::float16_t>(l);
    check_same_as_posenc_type<Eigen::bfloat16, posenc::bfloat16_t>(l);
  }
}

TEST(Eigen, ViewsOverMatricesMapsAndColumnMajor) {
  const std::size_t NT = 6, H = 4, D = 64;
  const posenc::rope r = make(D, posenc::rope_layout::half_split);
  RowMat q = RowMat::Random(NT, H * D);
  std::vector<float> raw(q.data(), q.data() + q.size());
  const std::int32_t pos[NT] = {3, 1, 4, 1, 5, 9};
  r.apply(posenc::as_head_view(q, H, D), pos);
  r.apply(posenc::make_head_view(raw.data(), NT, H, D), pos);
  ASSERT_EQ(std::memcmp(q.data(), raw.data(), raw.size() * sizeof(float)), 0);

  // A Map with an outer stride: the q part of a fused [NT × 3·H·D] buffer; k and v untouched.
  std::vector<float> fused(NT * 3 * H * D, 0.5f);
  for (std::size_t t = 0; t < NT; ++t)
    for (std::size_t i = 0; i < H * D; ++i) fused[t * 3 * H * D + i] = raw[t * H * D + i];
  Eigen::Map<RowMat, 0, Eigen::OuterStride<>> qmap(fused.data(), NT, H * D,
                                                   Eigen::OuterStride<>(3 * H * D));
  r.apply(posenc::as_head_view(qmap, H, D), pos);
  r.apply(posenc::make_head_view(raw.data(), NT, H, D), pos);
  for (std::size_t t = 0; t < NT; ++t) {
    EXPECT_EQ(std::memcmp(&fused[t * 3 * H * D], &raw[t * H * D], H * D * sizeof(float)), 0);
    for (std::size_t i = H * D; i < 3 * H * D; ++i) ASSERT_EQ(fused[t * 3 * H * D + i], 0.5f);
  }

  // Column-major [features × tokens]: one token per column.
  Eigen::MatrixXf cm = Eigen::MatrixXf::Random(static_cast<Eigen::Index>(H * D), NT);
  std::vector<float> raw2(cm.data(), cm.data() + cm.size());
  r.apply(posenc::as_head_view(cm, H, D), pos);
  r.apply(posenc::make_head_view(raw2.data(), NT, H, D), pos);
  ASSERT_EQ(std::memcmp(cm.data(), raw2.data(), raw2.size() * sizeof(float)), 0);

  // Shape mismatch and non-unit inner stride are reported, naming the field.
  RowMat bad(NT, H * D + 1);
  try {
    (void)posenc::as_head_view(bad, H, D);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("cols() = 257"), std::string::npos) << e.what();
  }
  Eigen::Map<RowMat, 0, Eigen::Stride<Eigen::Dynamic, 2>> strided(
      fused.data(), NT, H * D, Eigen::Stride<Eigen::Dynamic, 2>(3 * H * D, 2));
  EXPECT_THROW((void)posenc::as_head_view(strided, H, D), std::invalid_argument);
}

}  // namespace
