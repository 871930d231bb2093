// posenc tests — include/posenc/kernels/bias.hpp: the ALiBi ramp (from a first offset and from
// explicit key positions), add/store of a row of values in split16 order, and fill, on every
// architecture this TU was compiled for plus scalar_arch, for float, double, bfloat16 and
// binary16 storage.
// SPDX-License-Identifier: Apache-2.0
//
// Two levels (style.md §3.7):
//  1. The references against the contract of bias.hpp evaluated independently of include/: the
//     ramp value t(e) = RN_C(RN_C(m)·RN_C(e)) is checked against the long-double product with
//     the bound of two roundings, |t − m·e| ≤ (2u + u²)·|m·e| (u = unit roundoff of C), and
//     the stored result x' against x + t rounded once to the storage format (exact equality:
//     C(x) + t is computed in C and rounded once to T, which the test reproduces from the IEEE
//     definitions in support/bias_ref.hpp).
//  2. Every SIMD kernel against its reference: the same bits (under any -ffp-contract: the contract
//     has no FMA and the kernels keep m·e rounded), for lengths around every block size the
//     kernel steps by (support/sizes.hpp lane_sweep), pointer offsets {0, 1, N/2} elements
//     from a 64-byte boundary, guard bytes around every output (nothing outside the n elements may
//     change), offsets e0 from −2^30 to 2^30 (so |e| > 2^24 exercises the exact-offset fallback),
//     both sign modes.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/kernels/bias.hpp>

#include "support/arch_types.hpp"
#include "support/bias_ref.hpp"
#include "support/formats.hpp"
#include "support/sizes.hpp"

namespace {

using posenc_test::same_bits;

using posenc::kernels::ramp_sign;
using posenc_test::guarded_buffer;
using posenc_test::storage_fmt;

template <class T>
using coef = posenc::coef_t<T>;

// A value of T, drawn so that both the raw value and x + bias stay in the normal range.
template <class T>
T draw(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(-8.0, 8.0);
  return storage_fmt<T>::make(storage_fmt<T>::round(d(rng)));
}

template <class T>
double get(const guarded_buffer<T>& b, std::size_t i) {
  return storage_fmt<T>::get(b.get(i));
}

constexpr std::int64_t kOffsets[] = {0,
                                     -7,
                                     5,
                                     -1000,
                                     -(std::int64_t{1} << 24) + 3,
                                     (std::int64_t{1} << 24) - 40,
                                     -(std::int64_t{1} << 30),
                                     (std::int64_t{1} << 30) + 1};
constexpr double kSlopes[] = {0.5, 0x1.6a09e667f3bcdp-1, 0x1.0f876ccdf6cd9p-9, 1.0};

// ---- 1. references against the contract ----------------------------------------------------

template <class T>
void check_ref_against_contract() {
  using C = coef<T>;
  const double u = std::ldexp(1.0, -std::numeric_limits<C>::digits);
  auto rng = posenc_test::make_rng(11);
  for (double m0 : kSlopes) {
    const C m = static_cast<C>(m0);
    for (std::int64_t e0 : kOffsets) {
      for (ramp_sign sign : {ramp_sign::keep, ramp_sign::neg_abs}) {
        const std::size_t n = 37;
        std::vector<C> vals(n);
        posenc::kernels::ramp_values_ref(vals.data(), n, m, e0, sign);
        std::vector<T> x(n);
        for (auto& v : x) v = draw<T>(rng);
        std::vector<T> y = x;
        posenc::kernels::add_ramp_ref(y.data(), n, m, e0, sign);
        for (std::size_t i = 0; i < n; ++i) {
          const std::int64_t e = e0 + static_cast<std::int64_t>(i);
          const long double exact = static_cast<long double>(m) * static_cast<long double>(e);
          const long double want = sign == ramp_sign::neg_abs ? -std::fabs(exact) : exact;
          const long double err = std::fabs(static_cast<long double>(vals[i]) - want);
          ASSERT_LE(err, (2 * u + u * u) * std::fabs(exact))
              << "t(e) for e = " << e << ", m = " << m0;
          if (sign == ramp_sign::neg_abs) {
            ASSERT_TRUE(std::signbit(vals[i])) << e;
          }
          // The stored value: C(x) + t rounded to C (exact in long double), then to T.
          // (one IEEE addition in C of two stored values: its correctly rounded sum)
          const double sum =
              static_cast<double>(static_cast<C>(storage_fmt<T>::get(x[i])) + vals[i]);
          ASSERT_TRUE(
              posenc_test::same_value(storage_fmt<T>::get(y[i]), storage_fmt<T>::round(sum)))
              << storage_fmt<T>::name << " e = " << e;
        }
      }
    }
  }
}

TEST(BiasKernelRef, RampMatchesContract) {
  check_ref_against_contract<float>();
  check_ref_against_contract<double>();
  check_ref_against_contract<posenc::bfloat16_t>();
  check_ref_against_contract<posenc::float16_t>();
}

TEST(BiasKernelRef, PositionsRampMasksFutureKeysAndMatchesOffsetRamp) {
  // Consecutive positions give exactly add_ramp_ref; positions above mask_above give −∞.
  const std::size_t n = 50;
  std::vector<std::int64_t> pos(n);
  for (std::size_t i = 0; i < n; ++i) pos[i] = 1000 + static_cast<std::int64_t>(i);
  std::vector<float> a(n, 0.25f), b(n, 0.25f);
  posenc::kernels::add_ramp_ref(a.data(), n, 0.125f, 1000 - 1030, ramp_sign::keep);
  posenc::kernels::add_ramp_positions_ref(b.data(), n, 0.125f, 1030, pos.data(), ramp_sign::keep,
                                          std::numeric_limits<std::int64_t>::max());
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(a[i], b[i]) << i;
  std::vector<float> c(n, 0.25f);
  posenc::kernels::add_ramp_positions_ref(c.data(), n, 0.125f, 1030, pos.data(), ramp_sign::keep,
                                          1030);
  for (std::size_t i = 0; i < n; ++i) {
    if (pos[i] > 1030) {
      ASSERT_EQ(c[i], -std::numeric_limits<float>::infinity()) << i;
    } else {
      ASSERT_EQ(c[i], a[i]) << i;
    }
  }
}

TEST(BiasKernelRef, Split16IndexIsAPermutationOfEachBlock) {
  for (std::size_t n : {1u, 31u, 32u, 33u, 64u, 95u, 100u}) {
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = posenc::kernels::split16_index<posenc::bfloat16_t>(i, n);
      ASSERT_LT(k, n);
      ASSERT_EQ(k / 32, i / 32) << "stays in its block";
      seen.insert(k);
      if (i < (n / 32) * 32) {
        ASSERT_EQ(k % 32, (i % 2) * 16 + (i % 32) / 2) << i;
      } else {
        ASSERT_EQ(k, i) << "tail is natural";
      }
      ASSERT_EQ(posenc::kernels::split16_index<float>(i, n), i);
    }
    ASSERT_EQ(seen.size(), n);
  }
}

// ---- 2. SIMD kernels against the references, every architecture -----------------------------

template <class Arch>
class BiasKernel : public ::testing::Test {};
TYPED_TEST_SUITE(BiasKernel, posenc_test::arch_types, posenc_test::arch_names);

template <class Arch, class T>
std::vector<std::size_t> sizes_for() {
  const std::size_t n = posenc::lane_count<coef<T>, Arch>();
  // 16-bit kernels step by 2N elements and by blocks of 32.
  return posenc_test::lane_sweep({n, 2 * n, 32});
}

template <class T>
::testing::AssertionResult same_buffers(const guarded_buffer<T>& a, const guarded_buffer<T>& b,
                                        std::size_t n, const std::string& what) {
  for (std::size_t i = 0; i < n; ++i) {
    if (std::memcmp(&reinterpret_cast<const unsigned char*>(a.data())[i * sizeof(T)],
                    &reinterpret_cast<const unsigned char*>(b.data())[i * sizeof(T)],
                    sizeof(T)) != 0)
      return ::testing::AssertionFailure() << what << ": element " << i << " of " << n << ": "
                                           << get(a, i) << " vs ref " << get(b, i);
  }
  if (!a.guards_intact()) return ::testing::AssertionFailure() << what << ": wrote outside";
  return ::testing::AssertionSuccess();
}

template <class Arch, class T>
void ramp_sweep() {
  using C = coef<T>;
  const std::size_t N = posenc::lane_count<C, Arch>();
  auto rng = posenc_test::make_rng(0x100 + sizeof(T));
  for (std::size_t n : sizes_for<Arch, T>()) {
    for (std::size_t mis : posenc_test::misalignments(N)) {
      for (std::int64_t e0 : kOffsets) {
        for (ramp_sign sign : {ramp_sign::keep, ramp_sign::neg_abs}) {
          const C m = static_cast<C>(kSlopes[(n + mis) % 4]);
          std::ostringstream what;
          what << storage_fmt<T>::name << " n=" << n << " mis=" << mis << " e0=" << e0
               << " sign=" << static_cast<int>(sign);
          guarded_buffer<T> x(n, mis), ref(n, mis);
          for (std::size_t i = 0; i < n; ++i) {
            const T v = draw<T>(rng);
            x.set(i, v);
            ref.set(i, v);
          }
          posenc::kernels::add_ramp(Arch{}, x.data(), n, m, e0, sign);
          posenc::kernels::add_ramp_ref(ref.data(), n, m, e0, sign);
          ASSERT_TRUE(same_buffers(x, ref, n, "add_ramp " + what.str()));
          if constexpr (std::is_same<T, C>::value) {
            guarded_buffer<C> v(n, mis), vr(n, mis);
            posenc::kernels::ramp_values(Arch{}, v.data(), n, m, e0, sign);
            posenc::kernels::ramp_values_ref(vr.data(), n, m, e0, sign);
            ASSERT_TRUE(same_buffers(v, vr, n, "ramp_values " + what.str()));
          }
        }
      }
    }
  }
}

TYPED_TEST(BiasKernel, RampEqualsReference) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  ramp_sweep<Arch, float>();
  ramp_sweep<Arch, double>();
  ramp_sweep<Arch, posenc::bfloat16_t>();
  ramp_sweep<Arch, posenc::float16_t>();
}

template <class Arch, class T, class P>
void positions_sweep() {
  using C = coef<T>;
  const std::size_t N = posenc::lane_count<C, Arch>();
  auto rng = posenc_test::make_rng(0x200 + sizeof(T) + 8 * sizeof(P));
  const std::int64_t anchors[] = {0, 5000, (std::int64_t{1} << 23), 2147483647};
  for (std::size_t n : posenc_test::lane_sweep({N})) {
    for (std::size_t mis : posenc_test::misalignments(N)) {
      for (std::int64_t anchor : anchors) {
        // Positions ≥ 0 in any order, some near the anchor, some far (|e| ≥ 2^22 forces the
        // per-register fallback), one at the anchor's mask threshold.
        std::vector<P> pos(n);
        std::uniform_int_distribution<std::int64_t> near(-40, 40), far(0, 2147483647);
        for (std::size_t i = 0; i < n; ++i) {
          std::int64_t p = (i % 7 == 3) ? far(rng) : anchor + near(rng);
          if (p < 0) p = -p;
          if (p > 2147483647) p = 2147483647;
          pos[i] = static_cast<P>(p);
        }
        for (std::int64_t mask_above :
             {std::numeric_limits<std::int64_t>::max(), anchor, anchor - 3}) {
          for (ramp_sign sign : {ramp_sign::keep, ramp_sign::neg_abs}) {
            const C m = static_cast<C>(kSlopes[(n + mis) % 4]);
            guarded_buffer<T> x(n, mis), ref(n, mis);
            for (std::size_t i = 0; i < n; ++i) {
              const T v = draw<T>(rng);
              x.set(i, v);
              ref.set(i, v);
            }
            posenc::kernels::add_ramp_positions(Arch{}, x.data(), n, m, anchor, pos.data(), sign,
                                                mask_above);
            posenc::kernels::add_ramp_positions_ref(ref.data(), n, m, anchor, pos.data(), sign,
                                                    mask_above);
            std::ostringstream what;
            what << "add_ramp_positions " << storage_fmt<T>::name << " P=" << sizeof(P) * 8
                 << " n=" << n << " mis=" << mis << " anchor=" << anchor
                 << " mask_above=" << mask_above;
            ASSERT_TRUE(same_buffers(x, ref, n, what.str()));
          }
        }
      }
    }
  }
}

TYPED_TEST(BiasKernel, PositionsRampEqualsReference) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  positions_sweep<Arch, float, std::int32_t>();  // the vectorised combination
  positions_sweep<Arch, float, std::int64_t>();
  positions_sweep<Arch, double, std::int32_t>();
  positions_sweep<Arch, posenc::bfloat16_t, std::int32_t>();
}

template <class Arch, class T>
void values_sweep() {
  using C = coef<T>;
  const std::size_t N = posenc::lane_count<C, Arch>();
  auto rng = posenc_test::make_rng(0x300 + sizeof(T));
  std::uniform_real_distribution<double> d(-4.0, 4.0);
  for (std::size_t n : sizes_for<Arch, T>()) {
    for (std::size_t mis : posenc_test::misalignments(N)) {
      for (std::size_t vmis : posenc_test::misalignments(N)) {
        guarded_buffer<C> v(n, vmis);
        for (std::size_t i = 0; i < n; ++i) v.set(i, static_cast<C>(d(rng)));
        guarded_buffer<T> x(n, mis), ref(n, mis), s(n, mis), sref(n, mis);
        for (std::size_t i = 0; i < n; ++i) {
          const T t = draw<T>(rng);
          x.set(i, t);
          ref.set(i, t);
        }
        std::ostringstream what;
        what << storage_fmt<T>::name << " n=" << n << " mis=" << mis << " vmis=" << vmis;
        posenc::kernels::add_values(Arch{}, x.data(), v.data(), n);
        posenc::kernels::add_values_ref(ref.data(), v.data(), n);
        ASSERT_TRUE(same_buffers(x, ref, n, "add_values " + what.str()));
        posenc::kernels::store_values(Arch{}, s.data(), v.data(), n);
        posenc::kernels::store_values_ref(sref.data(), v.data(), n);
        ASSERT_TRUE(same_buffers(s, sref, n, "store_values " + what.str()));
        ASSERT_TRUE(v.guards_intact());
        // The reference reads split16 order: element i takes v[split16_index(i, n)].
        for (std::size_t i = 0; i < n; ++i) {
          const double want = storage_fmt<T>::round(
              static_cast<double>(v.get(posenc::kernels::split16_index<T>(i, n))));
          ASSERT_TRUE(posenc_test::same_value(get(sref, i), want)) << what.str() << " i=" << i;
        }
        // fill, including −∞ (the mask value) and a value that rounds in 16-bit storage.
        for (C value : {-std::numeric_limits<C>::infinity(), static_cast<C>(0.1)}) {
          guarded_buffer<T> f(n, mis), fref(n, mis);
          posenc::kernels::fill(Arch{}, f.data(), n, value);
          posenc::kernels::fill_ref(fref.data(), n, value);
          ASSERT_TRUE(same_buffers(f, fref, n, "fill " + what.str()));
          for (std::size_t i = 0; i < n; ++i)
            ASSERT_TRUE(posenc_test::same_value(get(fref, i),
                                                storage_fmt<T>::round(static_cast<double>(value))));
        }
      }
    }
  }
}

template <class Arch, class T>
void ramp_2d_sweep() {
  // A tile of `rows` rows with leading dimension ld > n (es = −1: the ALiBi tile, whose offset
  // drops by one per row; 0: the same ramp in every row; +1 for completeness), at offsets
  // inside and across the exact-conversion boundary. 8 and 13 rows: with registers of at most
  // 256 bits an ALiBi tile of 8 rows or more takes the table path (detail::ramp_2d_table).
  const std::size_t N = posenc::lane_count<T, Arch>();
  auto rng = posenc_test::make_rng(0x400 + sizeof(T));
  for (std::size_t n : posenc_test::lane_sweep({N, 4 * N})) {
    for (std::size_t rows : {1u, 2u, 3u, 5u, 8u, 13u}) {
      for (std::int64_t es : {-1, 0, 1}) {
        for (std::int64_t e0 : kOffsets) {
          for (ramp_sign sign : {ramp_sign::keep, ramp_sign::neg_abs}) {
            const std::size_t mis = (n + rows) % N;
            const T m = static_cast<T>(kSlopes[(n + rows) % 4]);
            const std::size_t ld = n + 3, total = (rows - 1) * ld + n;
            guarded_buffer<T> x(total, mis), ref(total, mis);
            std::vector<T> orig(total);
            for (std::size_t i = 0; i < total; ++i) {
              orig[i] = draw<T>(rng);
              x.set(i, orig[i]);
              ref.set(i, orig[i]);
            }
            posenc::kernels::add_ramp_2d(Arch{}, x.data(), static_cast<std::ptrdiff_t>(ld), rows, n,
                                         m, e0, es, sign);
            posenc::kernels::add_ramp_2d_ref(ref.data(), static_cast<std::ptrdiff_t>(ld), rows, n,
                                             m, e0, es, sign);
            std::ostringstream what;
            what << "add_ramp_2d " << storage_fmt<T>::name << " n=" << n << " rows=" << rows
                 << " es=" << es << " e0=" << e0 << " sign=" << static_cast<int>(sign)
                 << " mis=" << mis;
            ASSERT_TRUE(same_buffers(x, ref, total, what.str()));
            // The reference: element (r, i < n) is row r's add_ramp_ref at e0 + r·es, the ld
            // padding between rows is untouched.
            for (std::size_t r = 0; r < rows; ++r) {
              std::vector<T> row(orig.begin() + static_cast<std::ptrdiff_t>(r * ld),
                                 orig.begin() + static_cast<std::ptrdiff_t>(r * ld + n));
              posenc::kernels::add_ramp_ref(row.data(), n, m,
                                            e0 + static_cast<std::int64_t>(r) * es, sign);
              for (std::size_t i = 0; i < ld && r * ld + i < total; ++i) {
                const T want = i < n ? row[i] : orig[r * ld + i];
                ASSERT_TRUE(same_bits(ref.get(r * ld + i), want))
                    << what.str() << " r=" << r << " i=" << i;
              }
            }
          }
        }
      }
    }
  }
}

TYPED_TEST(BiasKernel, AddStoreFillEqualReference) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  values_sweep<Arch, float>();
  values_sweep<Arch, double>();
  values_sweep<Arch, posenc::bfloat16_t>();
  values_sweep<Arch, posenc::float16_t>();
  ramp_2d_sweep<Arch, float>();
  ramp_2d_sweep<Arch, double>();
}

TYPED_TEST(BiasKernel, ExactOffsetRangeDecidesTheSimdPath) {
  // ramp_exact is the documented switch between the SIMD ramp and the reference: both give the
  // same bits, but the boundary itself must be right (an inexact C(e0) + j would be wrong).
  EXPECT_TRUE(posenc::kernels::ramp_exact<float>(-(1 << 24), 1));
  EXPECT_TRUE(posenc::kernels::ramp_exact<float>((1 << 24) - 10, 10));
  EXPECT_FALSE(posenc::kernels::ramp_exact<float>((1 << 24) - 10, 11));
  EXPECT_FALSE(posenc::kernels::ramp_exact<float>(-(1 << 24) - 1, 1));
  EXPECT_TRUE(posenc::kernels::ramp_exact<double>(std::int64_t{1} << 40, 1000));
  // Just past 2^24 in float: the values must still be the reference's (exact int64 → float).
  using Arch = TypeParam;
  const std::size_t n = 64;
  std::vector<float> a(n, 0.0f), b(n, 0.0f);
  posenc::kernels::add_ramp(Arch{}, a.data(), n, 1.0f, (1 << 24) - 32, ramp_sign::keep);
  posenc::kernels::add_ramp_ref(b.data(), n, 1.0f, (1 << 24) - 32, ramp_sign::keep);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(a[i], b[i]) << i;
    ASSERT_EQ(b[i], static_cast<float>((1 << 24) - 32 + static_cast<std::int64_t>(i))) << i;
  }
}

}  // namespace
