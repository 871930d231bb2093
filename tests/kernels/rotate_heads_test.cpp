// posenc tests — include/posenc/kernels/rotate.hpp: the multi-head kernels
// (rotate_half_split_heads, rotate_interleaved_heads) and the prepared coefficients built by prepare(),
// on every architecture this TU was compiled for plus scalar_arch.
// SPDX-License-Identifier: Apache-2.0
//
// The *_heads kernels promise the same bits as the one-row kernel called on each head (whose
// accuracy tests/kernels/rotate_test.cpp checks against a long-double oracle) and nothing
// written outside the rows: here every head's output is compared bit for bit with the one-row
// kernel on a copy, and the gaps between heads (head_stride > row length) and the guards
// around the buffer must keep their bytes. Row lengths sweep the register counts the kernels
// specialise (1–4 registers half-split, 1–8 interleaved) and the sizes around them.
//
// prepare(): the paired form is checked entry by entry against its definition in
// rotate.hpp, for both directions (forward: c2[2k] = c[k], c2[2k+1] = s[k], s2[2k] = −s[k],
// s2[2k+1] = c[k]; inverse: c2[2k+1] = −s[k], s2[2k] = s[k]), bit for bit, ±0 too.
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/kernels/rotate.hpp>

#include "support/arch_types.hpp"
#include "support/formats.hpp"
#include "support/sizes.hpp"

namespace {

using posenc_test::same_bits;

using posenc::rope_layout;
using posenc_test::guarded_buffer;

template <class T>
using coef = posenc::coef_t<T>;

/// A finite value of T from a float in [-4, 4) (16-bit: rounded by the library's conversion,
/// which tests/storage_test.cpp checks exhaustively).
template <class T>
T draw(std::mt19937_64& rng) {
  std::uniform_real_distribution<float> d(-4.0f, 4.0f);
  const float f = d(rng);
  if constexpr (std::is_same<T, posenc::bfloat16_t>::value) {
    return posenc::to_bfloat16(f);
  } else if constexpr (std::is_same<T, posenc::float16_t>::value) {
    return posenc::to_float16(f);
  } else {
    return static_cast<T>(f);
  }
}

template <class Arch>
class RotateHeads : public ::testing::Test {};
TYPED_TEST_SUITE(RotateHeads, posenc_test::arch_types, posenc_test::arch_names);

template <class Arch, rope_layout L, bool Inverse, class T>
void heads_sweep() {
  using C = coef<T>;
  const std::size_t N = posenc::lane_count<C, Arch>();
  auto rng = posenc_test::make_rng(0x500 + sizeof(T) + (L == rope_layout::interleaved ? 16 : 0));
  std::uniform_real_distribution<double> angle(-3.2, 3.2);
  std::vector<std::size_t> sizes = posenc_test::lane_sweep({N, 32});
  for (std::size_t v = 1; v <= 9; ++v) {  // every register count the kernels specialise
    sizes.push_back(v * N / 2);
    sizes.push_back(v * N);
  }
  for (std::size_t n : sizes) {
    if (n == 0) continue;
    for (std::size_t heads : {1u, 3u, 5u}) {
      const std::size_t row = 2 * n, stride = row + 3, total = (heads - 1) * stride + row;
      const std::size_t mis = (n + heads) % 3 == 0 ? 0 : 1;
      guarded_buffer<T> x(total, mis), ref(total, mis);
      for (std::size_t i = 0; i < total; ++i) {
        const T t = draw<T>(rng);
        x.set(i, t);
        ref.set(i, t);
      }
      std::vector<C> c(n), s(n), c2(2 * n), s2(2 * n);
      for (std::size_t k = 0; k < n; ++k) {
        const double a = angle(rng);
        c[k] = static_cast<C>(std::cos(a));
        s[k] = static_cast<C>(std::sin(a));
      }
      posenc::kernels::coef_block<C> cf;
      cf.c = c.data();
      cf.s = s.data();
      if constexpr (posenc::kernels::needs_prepared<Arch, L, T>()) {
        posenc::kernels::prepare<Arch, L, T, Inverse>(cf.c, cf.s, n, c2.data(), s2.data());
        cf.c2 = c2.data();
        cf.s2 = s2.data();
      }
      if constexpr (L == rope_layout::half_split) {
        posenc::kernels::rotate_half_split_heads<Inverse>(
            Arch{}, x.data(), n, static_cast<std::ptrdiff_t>(stride), heads, cf, n);
        for (std::size_t h = 0; h < heads; ++h)
          posenc::kernels::rotate_half_split<Inverse>(Arch{}, ref.data() + h * stride,
                                                      ref.data() + h * stride + n, cf, n);
      } else {
        posenc::kernels::rotate_interleaved_heads<Inverse>(
            Arch{}, x.data(), static_cast<std::ptrdiff_t>(stride), heads, cf, n);
        for (std::size_t h = 0; h < heads; ++h)
          posenc::kernels::rotate_interleaved<Inverse>(Arch{}, ref.data() + h * stride, cf, n);
      }
      std::ostringstream what;
      what << (L == rope_layout::half_split ? "half_split" : "interleaved")
           << (Inverse ? " inverse" : " forward") << " sizeof(T)=" << sizeof(T) << " n=" << n
           << " heads=" << heads << " mis=" << mis;
      for (std::size_t i = 0; i < total; ++i)
        ASSERT_TRUE(same_bits(x.get(i), ref.get(i))) << what.str() << " element " << i;
      ASSERT_TRUE(x.guards_intact()) << what.str();
    }
  }
}

template <class Arch, class T>
void all_heads() {
  heads_sweep<Arch, rope_layout::half_split, false, T>();
  heads_sweep<Arch, rope_layout::half_split, true, T>();
  heads_sweep<Arch, rope_layout::interleaved, false, T>();
  heads_sweep<Arch, rope_layout::interleaved, true, T>();
}

TYPED_TEST(RotateHeads, EqualOneRowKernelPerHead) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  all_heads<Arch, float>();
  all_heads<Arch, double>();
  all_heads<Arch, posenc::bfloat16_t>();
  all_heads<Arch, posenc::float16_t>();
}

template <class Arch, class C, bool Inverse>
void paired_form_sweep() {
  if constexpr (posenc::kernels::needs_prepared<Arch, rope_layout::interleaved, C>()) {
    const std::size_t N = posenc::lane_count<C, Arch>();
    auto rng = posenc_test::make_rng(0x600 + sizeof(C) + (Inverse ? 1 : 0));
    std::uniform_real_distribution<double> d(-1.0, 1.0);
    for (std::size_t n : posenc_test::lane_sweep({N, 2 * N})) {
      for (std::size_t mis : posenc_test::misalignments(N)) {
        guarded_buffer<C> c(n, mis), s(n, mis), c2(2 * n, mis), s2(2 * n, mis);
        for (std::size_t k = 0; k < n; ++k) {
          // ±0 included: the negated sine must be −s[k] bit for bit (−0 for +0)
          c.set(k, k % 7 == 3 ? C(0) : static_cast<C>(d(rng)));
          s.set(k, k % 5 == 1 ? C(0) : (k % 5 == 2 ? -C(0) : static_cast<C>(d(rng))));
        }
        posenc::kernels::prepare<Arch, rope_layout::interleaved, C, Inverse>(c.data(), s.data(), n,
                                                                             c2.data(), s2.data());
        for (std::size_t k = 0; k < n; ++k) {
          const C pos = s.get(k), neg = -s.get(k);
          const char* dir = Inverse ? "inverse" : "forward";
          ASSERT_TRUE(same_bits(c2.get(2 * k), c.get(k))) << dir << " n=" << n << " k=" << k;
          ASSERT_TRUE(same_bits(c2.get(2 * k + 1), Inverse ? neg : pos))
              << dir << " n=" << n << " k=" << k;
          ASSERT_TRUE(same_bits(s2.get(2 * k), Inverse ? pos : neg))
              << dir << " n=" << n << " k=" << k;
          ASSERT_TRUE(same_bits(s2.get(2 * k + 1), c.get(k))) << dir << " n=" << n << " k=" << k;
        }
        ASSERT_TRUE(c2.guards_intact() && s2.guards_intact()) << "n=" << n << " mis=" << mis;
      }
    }
  }
}

TYPED_TEST(RotateHeads, InterleavedKernelFormMatchesDefinition) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  paired_form_sweep<Arch, float, false>();
  paired_form_sweep<Arch, float, true>();
  paired_form_sweep<Arch, double, false>();
  paired_form_sweep<Arch, double, true>();
}

}  // namespace
