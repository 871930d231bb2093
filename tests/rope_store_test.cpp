// Out-of-place RoPE (rope::apply_to, rope_cache::apply_to): rotate-and-store into another
// storage type and layout (a bf16 / f16 KV cache, paged blocks).
//
// Reference: the in-place rotation (checked against the mpmath oracle in rope_test) of a copy
// of the source in the arithmetic type (float, or double for double storage), then one
// conversion per element to the destination type with posenc::to_bfloat16 / to_float16
// (checked against every float in storage_test). The out-of-place result must equal it bit
// for bit, on every architecture.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/posenc.hpp"

#include "support/arch_types.hpp"
#include "support/formats.hpp"

namespace {

using posenc::bfloat16_t;
using posenc::float16_t;
using posenc::rope;
using posenc::rope_config;
using posenc::rope_layout;

rope make(std::size_t head_dim, std::size_t rotary_dim, rope_layout layout) {
  rope_config c;
  c.head_dim = head_dim;
  c.rotary_dim = rotary_dim;
  c.base = 500000.0;
  c.layout = layout;
  return rope(c);
}

// Random values in [-4, 4) stored in S (exactly representable in S).
template <class S>
std::vector<S> random_rows(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-4.0, 4.0);
  std::vector<S> v(n);
  for (auto& x : v) x = posenc_test::from_double<S>(u(gen));
  return v;
}

// The reference: src widened to C (exact), rotated in place, then converted once to D.
template <class Arch, class D, class S, bool Inverse = false>
std::vector<D> reference(const rope& r, const std::vector<S>& src, std::size_t T, std::size_t H,
                         const std::int64_t* pos) {
  using C = posenc::coef_t<S>;
  std::vector<C> tmp(src.size());
  for (std::size_t i = 0; i < src.size(); ++i)
    tmp[i] = static_cast<C>(posenc_test::to_double(src[i]));
  const auto view = posenc::make_head_view(tmp.data(), T, H, r.head_dim());
  if (Inverse) {
    r.apply_inverse<Arch>(view, pos);
  } else {
    r.apply<Arch>(view, pos);
  }
  std::vector<D> out(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) out[i] = posenc_test::from_double<D>(tmp[i]);
  return out;
}

template <class Arch>
class RopeStore : public ::testing::Test {};
TYPED_TEST_SUITE(RopeStore, posenc_test::arch_types, posenc_test::arch_names);

// Shapes: head_dim 128 (the fixed-register kernels), 96 (48 pairs: register tails), 256 (128
// pairs: the row loop), 64 with rotary 32 (partial rotary: the tail is a converted copy), and
// 2 (one pair, scalar tail only).
struct shape {
  std::size_t head_dim, rotary_dim;
};
constexpr shape shapes[] = {{128, 128}, {96, 96}, {256, 256}, {64, 32}, {2, 2}};

template <class Arch, class S, class D>
void check_store(rope_layout layout) {
  const std::int64_t pos[5] = {0, 1, 37, 4095, 1000000};  // the last one beyond the cache
  const std::size_t T = 5, H = 3;
  for (const shape& sh : shapes) {
    const rope r = make(sh.head_dim, sh.rotary_dim, layout);
    const std::size_t D0 = sh.head_dim;
    const std::vector<S> src = random_rows<S>(T * H * D0, static_cast<unsigned>(D0));
    const std::vector<D> want = reference<Arch, D>(r, src, T, H, pos);
    const std::vector<D> want_inv = reference<Arch, D, S, true>(r, src, T, H, pos);
    const auto sv = posenc::make_head_view(src.data(), T, H, D0);  // head_view<const S>
    std::vector<D> got(src.size()), cached(src.size()), inv(src.size());
    r.apply_to<Arch>(sv, posenc::make_head_view(got.data(), T, H, D0), pos);
    r.apply_inverse_to<Arch>(sv, posenc::make_head_view(inv.data(), T, H, D0), pos);
    posenc::rope_cache<posenc::coef_t<S>> cache(r, 5000, Arch{});
    cache.template apply_to<Arch>(sv, posenc::make_head_view(cached.data(), T, H, D0), pos);
    for (std::size_t i = 0; i < src.size(); ++i) {
      ASSERT_TRUE(posenc_test::same_bits(got[i], want[i]))
          << "D " << D0 << " r " << sh.rotary_dim << " element " << i << " got "
          << posenc_test::to_double(got[i]) << " want " << posenc_test::to_double(want[i]);
      ASSERT_TRUE(posenc_test::same_bits(cached[i], want[i]))
          << "cache, D " << D0 << " element " << i;
      ASSERT_TRUE(posenc_test::same_bits(inv[i], want_inv[i]))
          << "inverse, D " << D0 << " element " << i;
    }
  }
}

template <class Arch, class S>
void check_all_destinations() {
  for (rope_layout layout : {rope_layout::half_split, rope_layout::interleaved}) {
    SCOPED_TRACE(layout == rope_layout::half_split ? "half_split" : "interleaved");
    check_store<Arch, S, float>(layout);
    check_store<Arch, S, bfloat16_t>(layout);
    check_store<Arch, S, float16_t>(layout);
  }
}

// src → dst equals "rotate in float, round once to dst", bit for bit: float, bf16 and f16
// sources (16-bit sources widened exactly) into float, bf16 and f16 destinations.
TYPED_TEST(RopeStore, EqualsRotateInFloatThenConvertOnce) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_all_destinations<TypeParam, float>();
  check_all_destinations<TypeParam, bfloat16_t>();
  check_all_destinations<TypeParam, float16_t>();
  for (rope_layout layout : {rope_layout::half_split, rope_layout::interleaved})
    check_store<TypeParam, double, double>(layout);
}

// Same storage on both sides: apply_to(src, dst) equals copy-then-apply bit for bit (the
// in-place 16-bit kernels also rotate in float and round once), and apply_to(x, x) is apply(x).
template <class Arch, class E>
void check_same_type_and_alias() {
  const std::int64_t pos[4] = {3, 0, 700, 65537};
  const std::size_t T = 4, H = 5;
  for (rope_layout layout : {rope_layout::half_split, rope_layout::interleaved}) {
    for (const shape& sh : shapes) {
      const rope r = make(sh.head_dim, sh.rotary_dim, layout);
      const std::size_t D0 = sh.head_dim;
      const std::vector<E> src = random_rows<E>(T * H * D0, 7u);
      std::vector<E> in_place = src, aliased = src, out(src.size());
      r.apply<Arch>(posenc::make_head_view(in_place.data(), T, H, D0), pos);
      const auto av = posenc::make_head_view(aliased.data(), T, H, D0);
      r.apply_to<Arch>(av, av, pos);
      r.apply_to<Arch>(posenc::make_head_view(src.data(), T, H, D0),
                       posenc::make_head_view(out.data(), T, H, D0), pos);
      for (std::size_t i = 0; i < src.size(); ++i) {
        ASSERT_TRUE(posenc_test::same_bits(out[i], in_place[i])) << "D " << D0 << " element " << i;
        ASSERT_TRUE(posenc_test::same_bits(aliased[i], in_place[i]))
            << "D " << D0 << " element " << i;
      }
    }
  }
}

TYPED_TEST(RopeStore, SameTypeEqualsInPlaceAndAliasIsInPlace) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_same_type_and_alias<TypeParam, float>();
  check_same_type_and_alias<TypeParam, double>();
  check_same_type_and_alias<TypeParam, bfloat16_t>();
  check_same_type_and_alias<TypeParam, float16_t>();
}

// A paged bf16 KV cache, vLLM/FlashInfer NHD style: blocks of 16 token slots, each slot
// [Hkv][D]; a block table maps a sequence's i-th block to a physical block. Prefill of 40
// tokens writes k (f32, GQA: 8 q heads, 2 kv heads) into blocks 5, 2, 7 with one apply_to per
// block (dst = the block, src = the block's tokens, positions from there); q is rotated in
// place in the same calls. Every slot outside the written tokens keeps its sentinel.
TYPED_TEST(RopeStore, PagedCache) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  using Arch = TypeParam;
  constexpr std::size_t block = 16, blocks = 8, Hq = 8, Hkv = 2, D = 64, T = 40;
  const rope r = make(D, D, rope_layout::half_split);
  const std::size_t table[3] = {5, 2, 7};
  std::vector<std::int64_t> pos(T);
  for (std::size_t t = 0; t < T; ++t) pos[t] = static_cast<std::int64_t>(100 + t);
  const std::vector<float> q0 = random_rows<float>(T * Hq * D, 1u);
  const std::vector<float> k = random_rows<float>(T * Hkv * D, 2u);
  const bfloat16_t sentinel{0x7fa5};  // a NaN no rotation produces
  std::vector<bfloat16_t> cache(blocks * block * Hkv * D, sentinel);
  std::vector<float> q = q0;
  for (std::size_t b = 0; b * block < T; ++b) {
    const std::size_t t0 = b * block, n = std::min(block, T - t0);
    const auto k_src = posenc::make_head_view(k.data() + t0 * Hkv * D, n, Hkv, D);
    const auto k_dst = posenc::make_head_view(cache.data() + table[b] * block * Hkv * D, n, Hkv, D);
    const auto qv = posenc::make_head_view(q.data() + t0 * Hq * D, n, Hq, D);
    r.apply_to<Arch>(qv, qv, k_src, k_dst, pos.data() + t0);
  }
  const std::vector<bfloat16_t> want_k = reference<Arch, bfloat16_t>(r, k, T, Hkv, pos.data());
  const std::vector<float> want_q = reference<Arch, float>(r, q0, T, Hq, pos.data());
  for (std::size_t i = 0; i < q.size(); ++i) ASSERT_EQ(q[i], want_q[i]) << "q element " << i;
  for (std::size_t pb = 0; pb < blocks; ++pb) {
    for (std::size_t slot = 0; slot < block; ++slot) {
      std::size_t t = T;  // the token in this slot, or T for none
      for (std::size_t b = 0; b < 3; ++b)
        if (table[b] == pb && b * block + slot < T) t = b * block + slot;
      for (std::size_t e = 0; e < Hkv * D; ++e) {
        const bfloat16_t got = cache[(pb * block + slot) * Hkv * D + e];
        const bfloat16_t want = t < T ? want_k[t * Hkv * D + e] : sentinel;
        ASSERT_TRUE(posenc_test::same_bits(got, want))
            << "block " << pb << " slot " << slot << " e " << e;
      }
    }
  }
}

// Strided views on both sides (BHSD source into a wider-row destination), a token_range, and
// nothing written outside the destination view's elements or outside the range.
TYPED_TEST(RopeStore, StridedViewsAndRange) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  using Arch = TypeParam;
  constexpr std::size_t T = 6, H = 3, D = 128, pad = 8;
  const rope r = make(D, 96, rope_layout::interleaved);
  const std::int64_t pos[T] = {9, 8, 7, 6, 5, 4};
  const std::vector<float> bshd = random_rows<float>(T * H * D, 3u);
  std::vector<float> bhsd(T * H * D);  // the same values, heads outermost
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t i = 0; i < D; ++i) bhsd[(h * T + t) * D + i] = bshd[(t * H + h) * D + i];
  const float16_t sentinel{0x7e5a};
  std::vector<float16_t> dst(T * H * (D + pad), sentinel);  // rows of D + pad
  const auto src = posenc::make_head_view(bhsd.data(), T, H, D, static_cast<std::ptrdiff_t>(D),
                                          static_cast<std::ptrdiff_t>(T * D));
  const auto out =
      posenc::make_head_view(dst.data(), T, H, D, static_cast<std::ptrdiff_t>(H * (D + pad)),
                             static_cast<std::ptrdiff_t>(D + pad));
  r.apply_to<Arch>(src, out, pos, posenc::token_range{1, 4});
  const std::vector<float16_t> want = reference<Arch, float16_t>(r, bshd, T, H, pos);
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t h = 0; h < H; ++h) {
      for (std::size_t i = 0; i < D + pad; ++i) {
        const float16_t got = dst[(t * H + h) * (D + pad) + i];
        const bool written = t >= 1 && t < 4 && i < D;
        ASSERT_TRUE(posenc_test::same_bits(got, written ? want[(t * H + h) * D + i] : sentinel))
            << "t " << t << " h " << h << " i " << i;
      }
    }
  }
}

}  // namespace
