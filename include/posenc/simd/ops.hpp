// posenc — the few SIMD operations xsimd 8.1 lacks or spells differently: pair zip, duplicating
// loads, fused multiply-add on AVX-512, and 16-bit (bfloat16 / binary16) <-> float conversion.
// SPDX-License-Identifier: Apache-2.0
//
// This is the only header that names instruction sets. Every function is a template on the
// architecture tag A (style rule: two TUs built with different -m flags never share a symbol).
// Overloads taking an arch tag by value are picked by derived-to-base rank, so fma3<avx2>
// finds the avx overload and avx512bw the avx512f one; anything else gets the generic one.
#ifndef POSENC_SIMD_OPS_HPP
#define POSENC_SIMD_OPS_HPP

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "posenc/config.hpp"
#include "posenc/detail/fp_barrier.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>

namespace posenc {
namespace simd {

template <class T, class A>
using batch = xsimd::batch<T, A>;

namespace detail {
// ---- interleave two batches lane by lane: x = (x0, x1, …), y = (y0, y1, …) ->
// lo = (x0, y0, x1, y1, …, x_{N/2−1}, y_{N/2−1}), hi = the same for lanes N/2 … N−1.
// (xsimd 8.1's zip_lo / zip_hi interleave within 128-bit lanes on AVX and AVX-512.) ----
template <class T, class A>
void zip_pairs(const batch<T, A>& x, const batch<T, A>& y, batch<T, A>& lo, batch<T, A>& hi,
               xsimd::generic) noexcept {
  constexpr std::size_t N = batch<T, A>::size;
  alignas(64) T in_x[N];
  alignas(64) T in_y[N];
  alignas(64) T out[2 * N];
  x.store_aligned(in_x);
  y.store_aligned(in_y);
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = in_x[i];
    out[2 * i + 1] = in_y[i];
  }
  lo = batch<T, A>::load_aligned(out);
  hi = batch<T, A>::load_aligned(out + N);
}
#if XSIMD_WITH_SSE2
template <class A>
void zip_pairs(const batch<float, A>& x, const batch<float, A>& y, batch<float, A>& lo,
               batch<float, A>& hi, xsimd::sse2) noexcept {
  lo = _mm_unpacklo_ps(x, y);
  hi = _mm_unpackhi_ps(x, y);
}
template <class A>
void zip_pairs(const batch<double, A>& x, const batch<double, A>& y, batch<double, A>& lo,
               batch<double, A>& hi, xsimd::sse2) noexcept {
  lo = _mm_unpacklo_pd(x, y);
  hi = _mm_unpackhi_pd(x, y);
}
#endif
#if XSIMD_WITH_AVX
template <class A>
void zip_pairs(const batch<float, A>& x, const batch<float, A>& y, batch<float, A>& lo,
               batch<float, A>& hi, xsimd::avx) noexcept {
  const __m256 l = _mm256_unpacklo_ps(x, y);  // x0 y0 x1 y1 | x4 y4 x5 y5
  const __m256 h = _mm256_unpackhi_ps(x, y);  // x2 y2 x3 y3 | x6 y6 x7 y7
  lo = _mm256_permute2f128_ps(l, h, 0x20);
  hi = _mm256_permute2f128_ps(l, h, 0x31);
}
template <class A>
void zip_pairs(const batch<double, A>& x, const batch<double, A>& y, batch<double, A>& lo,
               batch<double, A>& hi, xsimd::avx) noexcept {
  const __m256d l = _mm256_unpacklo_pd(x, y);  // x0 y0 | x2 y2
  const __m256d h = _mm256_unpackhi_pd(x, y);  // x1 y1 | x3 y3
  lo = _mm256_permute2f128_pd(l, h, 0x20);
  hi = _mm256_permute2f128_pd(l, h, 0x31);
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
void zip_pairs(const batch<float, A>& x, const batch<float, A>& y, batch<float, A>& lo,
               batch<float, A>& hi, xsimd::avx512f) noexcept {
  // Two-source permutes: index i < 16 takes x[i], 16 + i takes y[i].
  const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i ih =
      _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  lo = _mm512_permutex2var_ps(x, il, y);
  hi = _mm512_permutex2var_ps(x, ih, y);
}
template <class A>
void zip_pairs(const batch<double, A>& x, const batch<double, A>& y, batch<double, A>& lo,
               batch<double, A>& hi, xsimd::avx512f) noexcept {
  const __m512i il = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
  const __m512i ih = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  lo = _mm512_permutex2var_pd(x, il, y);
  hi = _mm512_permutex2var_pd(x, ih, y);
}
#endif

// ---- even / odd lanes of the N elements at p, each duplicated into its pair:
// load_dup_even = (p0, p0, p2, p2, …), load_dup_odd = (p1, p1, p3, p3, …). With SSE3, AVX and
// AVX-512, movsldup / movshdup / movddup take a memory operand and run on the load ports
// alone, so the interleaved kernel gets both operands without a shuffle on the vector ALUs.
// Reads exactly the N elements at p. ----
template <class A, class T>
batch<T, A> load_dup(const T* p, std::size_t odd, xsimd::generic) noexcept {
  constexpr std::size_t N = batch<T, A>::size;
  alignas(64) T tmp[N];
  for (std::size_t i = 0; i < N; i += 2) tmp[i] = tmp[i + 1] = p[i + odd];
  return batch<T, A>::load_aligned(tmp);
}
#if XSIMD_WITH_SSE2
template <class A>
batch<float, A> load_dup(const float* p, std::size_t odd, xsimd::sse2) noexcept {
  const __m128 v = _mm_loadu_ps(p);
  return odd ? _mm_shuffle_ps(v, v, _MM_SHUFFLE(3, 3, 1, 1))
             : _mm_shuffle_ps(v, v, _MM_SHUFFLE(2, 2, 0, 0));
}
template <class A>
batch<double, A> load_dup(const double* p, std::size_t odd, xsimd::sse2) noexcept {
  return _mm_set1_pd(p[odd]);
}
#endif
#if XSIMD_WITH_SSE3
template <class A>
batch<float, A> load_dup(const float* p, std::size_t odd, xsimd::sse3) noexcept {
  return odd ? _mm_movehdup_ps(_mm_loadu_ps(p)) : _mm_moveldup_ps(_mm_loadu_ps(p));
}
template <class A>
batch<double, A> load_dup(const double* p, std::size_t odd, xsimd::sse3) noexcept {
  return _mm_loaddup_pd(p + odd);
}
#endif
#if XSIMD_WITH_AVX
template <class A>
batch<float, A> load_dup(const float* p, std::size_t odd, xsimd::avx) noexcept {
  return odd ? _mm256_movehdup_ps(_mm256_loadu_ps(p)) : _mm256_moveldup_ps(_mm256_loadu_ps(p));
}
template <class A>
batch<double, A> load_dup(const double* p, std::size_t odd, xsimd::avx) noexcept {
  // No movhdup for doubles; the odd lanes take one in-lane permute.
  return odd ? _mm256_permute_pd(_mm256_loadu_pd(p), 0xF) : _mm256_movedup_pd(_mm256_loadu_pd(p));
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
batch<float, A> load_dup(const float* p, std::size_t odd, xsimd::avx512f) noexcept {
  const __m512 v = _mm512_loadu_ps(p);
  return odd ? _mm512_maskz_movehdup_ps(static_cast<__mmask16>(0xFFFF), v)
             : _mm512_maskz_moveldup_ps(static_cast<__mmask16>(0xFFFF), v);
}
template <class A>
batch<double, A> load_dup(const double* p, std::size_t odd, xsimd::avx512f) noexcept {
  const __m512d v = _mm512_loadu_pd(p);
  return odd ? _mm512_maskz_permute_pd(static_cast<__mmask8>(0xFF), v, 0xFF)
             : _mm512_maskz_movedup_pd(static_cast<__mmask8>(0xFF), v);
}
#endif

// ---- select on 32-bit integer lanes. Debian's xsimd 8.1 select on 32/64-bit integer batches
// does not compile with g++ 12 at -O0 on AVX-512BW (a C-style cast in an intrinsic macro), so
// AVX-512 blends with the mask register directly. ----
template <class T, class A>
batch<T, A> select_int(const xsimd::batch_bool<T, A>& c, const batch<T, A>& a, const batch<T, A>& b,
                       xsimd::generic) noexcept {
  return xsimd::select(c, a, b);
}
#if XSIMD_WITH_AVX512F
template <class T, class A>
batch<T, A> select_int(const xsimd::batch_bool<T, A>& c, const batch<T, A>& a, const batch<T, A>& b,
                       xsimd::avx512f) noexcept {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32/64-bit lanes");
  if constexpr (sizeof(T) == 4) {
    return _mm512_mask_blend_epi32(static_cast<__mmask16>(c), b, a);
  } else {
    return _mm512_mask_blend_epi64(static_cast<__mmask8>(c), b, a);
  }
}
#endif

// ---- shifts by a constant. xsimd's operators use the unmasked AVX-512 shifts (see above). ----
template <int N, class T, class A>
batch<T, A> shl(const batch<T, A>& x, xsimd::generic) noexcept {
  return x << N;
}
template <int N, class T, class A>
batch<T, A> shr(const batch<T, A>& x, xsimd::generic) noexcept {
  return x >> N;
}
#if XSIMD_WITH_AVX512F
template <int N, class T, class A>
batch<T, A> shl(const batch<T, A>& x, xsimd::avx512f) noexcept {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32/64-bit lanes");
  if constexpr (sizeof(T) == 4) {
    return _mm512_maskz_slli_epi32(static_cast<__mmask16>(0xFFFF), x, N);
  } else {
    return _mm512_maskz_slli_epi64(static_cast<__mmask8>(0xFF), x, N);
  }
}
template <int N, class T, class A>
batch<T, A> shr(const batch<T, A>& x, xsimd::avx512f) noexcept {
  static_assert(std::is_unsigned<T>::value && (sizeof(T) == 4 || sizeof(T) == 8),
                "logical shift of unsigned 32/64-bit lanes");
  if constexpr (sizeof(T) == 4) {
    return _mm512_maskz_srli_epi32(static_cast<__mmask16>(0xFFFF), x, N);
  } else {
    return _mm512_maskz_srli_epi64(static_cast<__mmask8>(0xFF), x, N);
  }
}
#endif

// ---- double -> float narrowing store of one register (xsimd 8.1 has no cross-width cast) ----
template <class A>
void store_as_float(const batch<double, A>& x, float* dst, xsimd::generic) noexcept {
  alignas(64) double tmp[batch<double, A>::size];
  x.store_aligned(tmp);
  for (std::size_t i = 0; i < batch<double, A>::size; ++i) dst[i] = static_cast<float>(tmp[i]);
}
#if XSIMD_WITH_SSE2
template <class A>
void store_as_float(const batch<double, A>& x, float* dst, xsimd::sse2) noexcept {
  _mm_storel_pi(reinterpret_cast<__m64*>(dst), _mm_cvtpd_ps(x));
}
#endif
#if XSIMD_WITH_AVX
template <class A>
void store_as_float(const batch<double, A>& x, float* dst, xsimd::avx) noexcept {
  _mm_storeu_ps(dst, _mm256_cvtpd_ps(x));
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
void store_as_float(const batch<double, A>& x, float* dst, xsimd::avx512f) noexcept {
  _mm256_storeu_ps(dst, _mm512_maskz_cvtpd_ps(static_cast<__mmask8>(0xFF), x));
}
#endif

// ---- a·b + c, a·b − c, c − a·b: fused (one rounding) exactly where fused_madd<A>() says, and
// otherwise each product rounded before the sum, whatever the compiler's -ffp-contract (the
// non-fused forms go through rounded(), see below). xsimd 8.1 has fused versions only for
// fma3<...>, fma4 and NEON; on AVX-512 it falls back to multiply-then-add, so the AVX-512
// instructions are used directly there. ----
template <class T, class A>
batch<T, A> madd(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c,
                 xsimd::generic) noexcept;
template <class T, class A>
batch<T, A> msub(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c,
                 xsimd::generic) noexcept;
template <class T, class A>
batch<T, A> nmadd(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c,
                  xsimd::generic) noexcept;
#if XSIMD_WITH_AVX512F
template <class A>
batch<float, A> madd(const batch<float, A>& a, const batch<float, A>& b, const batch<float, A>& c,
                     xsimd::avx512f) noexcept {
  return _mm512_fmadd_ps(a, b, c);
}
template <class A>
batch<double, A> madd(const batch<double, A>& a, const batch<double, A>& b,
                      const batch<double, A>& c, xsimd::avx512f) noexcept {
  return _mm512_fmadd_pd(a, b, c);
}
template <class A>
batch<float, A> msub(const batch<float, A>& a, const batch<float, A>& b, const batch<float, A>& c,
                     xsimd::avx512f) noexcept {
  return _mm512_fmsub_ps(a, b, c);
}
template <class A>
batch<double, A> msub(const batch<double, A>& a, const batch<double, A>& b,
                      const batch<double, A>& c, xsimd::avx512f) noexcept {
  return _mm512_fmsub_pd(a, b, c);
}
template <class A>
batch<float, A> nmadd(const batch<float, A>& a, const batch<float, A>& b, const batch<float, A>& c,
                      xsimd::avx512f) noexcept {
  return _mm512_fnmadd_ps(a, b, c);
}
template <class A>
batch<double, A> nmadd(const batch<double, A>& a, const batch<double, A>& b,
                       const batch<double, A>& c, xsimd::avx512f) noexcept {
  return _mm512_fnmadd_pd(a, b, c);
}
#endif
}  // namespace detail

// ---- changes along a run of int32 / int64 positions: bit l of change_mask<A>(p) is set where
// p[l] != p[l − 1], for the change_lanes<A, P>() lanes of one register (reads p[−1 … L − 1]).
// AVX-512: one compare into a mask register; AVX2: a compare and a movemask; no vector form
// elsewhere (0 lanes: the caller scans lane by lane). ----
template <class A, class P>
constexpr std::size_t change_lanes() noexcept {
  static_assert(std::is_same<P, std::int32_t>::value || std::is_same<P, std::int64_t>::value,
                "posenc::simd::change_lanes: int32 or int64 positions");
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) return 64 / sizeof(P);
#endif
#if XSIMD_WITH_AVX2
  if constexpr (std::is_base_of<xsimd::avx2, A>::value) return 32 / sizeof(P);
#endif
  return 0;
}
template <class A, class P>
std::uint32_t change_mask([[maybe_unused]] const P* p) noexcept {
  static_assert(change_lanes<A, P>() != 0, "posenc::simd::change_mask: no vector form on A");
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    const __m512i a = _mm512_loadu_si512(static_cast<const void*>(p));
    const __m512i b = _mm512_loadu_si512(static_cast<const void*>(p - 1));
    if constexpr (sizeof(P) == 4) {
      return _mm512_cmpneq_epi32_mask(a, b);
    } else {
      return _mm512_cmpneq_epi64_mask(a, b);
    }
  }
#endif
#if XSIMD_WITH_AVX2
  if constexpr (!std::is_base_of<xsimd::avx512f, A>::value) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p - 1));
    if constexpr (sizeof(P) == 4) {
      return ~static_cast<std::uint32_t>(
                 _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b)))) &
             0xffu;
    } else {
      return ~static_cast<std::uint32_t>(
                 _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(a, b)))) &
             0xfu;
    }
  }
#endif
  return 0;
}
// ---- one register gathered from a two-register window by int32 positions: lane l of
// window_gather<A>(w, p, p0) is w[p[l] − p0], every p[l] − p0 in [0, 2·L) for L =
// window_lanes<A, C>() (reads p[0 … L − 1] and the two registers at w, which must be aligned
// to the register width). AVX-512 (float, double): one two-source permute; AVX2 (float): two
// permutes and a blend; no vector form elsewhere (0 lanes). ----
template <class A, class C>
constexpr std::size_t window_lanes() noexcept {
  static_assert(std::is_same<C, float>::value || std::is_same<C, double>::value,
                "posenc::simd::window_lanes: float or double values");
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) return 64 / sizeof(C);
#endif
#if XSIMD_WITH_AVX2
  if constexpr (std::is_base_of<xsimd::avx2, A>::value && std::is_same<C, float>::value) return 8;
#endif
  return 0;
}
template <class A, class C>
batch<C, A> window_gather([[maybe_unused]] const C* w, [[maybe_unused]] const std::int32_t* p,
                          [[maybe_unused]] std::int32_t p0) noexcept {
  static_assert(window_lanes<A, C>() != 0, "posenc::simd::window_gather: no vector form on A");
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    if constexpr (std::is_same<C, float>::value) {
      const __m512i i =
          _mm512_sub_epi32(_mm512_loadu_si512(static_cast<const void*>(p)), _mm512_set1_epi32(p0));
      return _mm512_permutex2var_ps(_mm512_load_ps(w), i, _mm512_load_ps(w + 16));
    } else {
      const __m256i i32 = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
                                           _mm256_set1_epi32(p0));
      // the zero-masking widening with every lane kept: the same instruction, without the
      // unmasked intrinsic's _mm512_undefined_epi32 source (g++ 12 -Werror=uninitialized)
      return _mm512_permutex2var_pd(_mm512_load_pd(w),
                                    _mm512_maskz_cvtepi32_epi64(__mmask8(0xff), i32),
                                    _mm512_load_pd(w + 8));
    }
  }
#endif
#if XSIMD_WITH_AVX2
  if constexpr (!std::is_base_of<xsimd::avx512f, A>::value && std::is_same<C, float>::value) {
    const __m256i i = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
                                       _mm256_set1_epi32(p0));
    const __m256 lo = _mm256_permutevar8x32_ps(_mm256_load_ps(w), i);
    const __m256 hi = _mm256_permutevar8x32_ps(_mm256_load_ps(w + 8), i);
    // lanes with index ≥ 8 (bit 3) take hi: blendv reads the sign bit of i << 28
    return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(i, 28)));
  }
#endif
  return batch<C, A>(C(0));
}

// ---- lanes moved up by one across two registers: lane 0 of shift_in<A>(cur, prev) is prev's
// last lane, lane l > 0 is cur's lane l − 1 (cur and prev: consecutive stretches of one row).
// AVX-512 (float, double): one valignd / valignq; no vector form elsewhere (has_shift_in
// false). ----
template <class A, class C>
constexpr bool has_shift_in() noexcept {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value)
    return std::is_same<C, float>::value || std::is_same<C, double>::value;
#endif
  return false;
}
template <class A, class C>
batch<C, A> shift_in([[maybe_unused]] const batch<C, A>& cur,
                     [[maybe_unused]] const batch<C, A>& prev) noexcept {
  static_assert(has_shift_in<A, C>(), "posenc::simd::shift_in: no vector form on A");
#if XSIMD_WITH_AVX512F
  // the zero-masking forms with every lane kept (the unmasked intrinsics' undefined source
  // trips g++ 12's -Wuninitialized once inlined)
  if constexpr (std::is_same<C, float>::value) {
    return _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(
        __mmask16(0xffff), _mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));
  } else {
    return _mm512_castsi512_pd(_mm512_maskz_alignr_epi64(__mmask8(0xff), _mm512_castpd_si512(cur),
                                                         _mm512_castpd_si512(prev), 7));
  }
#else
  return cur;
#endif
}

/// Index of the lowest set bit of m (m != 0).
template <class A>
unsigned lowest_bit(std::uint32_t m) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return static_cast<unsigned>(__builtin_ctz(m));
#else
  unsigned i = 0;
  for (; (m & 1u) == 0; m >>= 1) ++i;
  return i;
#endif
}

namespace detail {
template <class A>
struct is_fma3 : std::false_type {};
template <class A>
struct is_fma3<xsimd::fma3<A>> : std::true_type {};
}  // namespace detail

/// True when madd/msub/nmadd on A are fused (one rounding): fma3<...>, fma4, AVX-512 and NEON
/// (xsimd's NEON fma is vfmaq). The scalar tails of the kernels use std::fma exactly when this
/// holds, so a kernel rounds the same way in its vector body and in its tail.
template <class A>
constexpr bool fused_madd() noexcept {
  // (posenc::avx2f16c derives from fma3<avx2>: the base-class test covers it.)
  return detail::is_fma3<A>::value || std::is_base_of<xsimd::fma3<xsimd::avx2>, A>::value ||
         std::is_base_of<xsimd::fma4, A>::value || std::is_base_of<xsimd::avx512f, A>::value ||
         std::is_base_of<xsimd::neon, A>::value;
}

/// x unchanged, rounded to its type and opaque to the optimiser (the batch version of
/// posenc::detail::rounded: an empty asm statement on the register, no instruction). Keeps
/// a separately rounded product from being contracted into an FMA, and keeps -ffast-math
/// from reassociating or cancelling through x.
template <class A, class T>
POSENC_FORCE_INLINE batch<T, A> rounded(const batch<T, A>& x) noexcept {
#if POSENC_FP_BARRIER_ASM
  typename batch<T, A>::register_type r = x;
#if defined(__SSE2__)
  __asm__("" : "+v"(r));
#else
  __asm__("" : "+w"(r));
#endif
  return r;
#else
  return x;
#endif
}

namespace detail {
template <class T, class A>
batch<T, A> madd(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c,
                 xsimd::generic) noexcept {
  if constexpr (fused_madd<A>()) {
    return xsimd::fma(a, b, c);
  } else {
    return rounded<A>(a * b) + rounded<A>(c);
  }
}
template <class T, class A>
batch<T, A> msub(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c,
                 xsimd::generic) noexcept {
  if constexpr (fused_madd<A>()) {
    return xsimd::fms(a, b, c);
  } else {
    return rounded<A>(a * b) - rounded<A>(c);
  }
}
template <class T, class A>
batch<T, A> nmadd(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c,
                  xsimd::generic) noexcept {
  if constexpr (fused_madd<A>()) {
    return xsimd::fma(-a, b, c);  // c − a·b with one rounding (negation is exact)
  } else {
    return rounded<A>(c) - rounded<A>(a * b);
  }
}
}  // namespace detail

namespace detail {
// ---- round to the nearest integer (current rounding direction, like std::nearbyint), with a
// rounding instruction where there is one. Without one (SSE2 … SSSE3): ±2^52 added and
// subtracted behind rounded() (without the barrier, -fassociative-math folds (x + t) − t to x),
// and x itself where |x| ≥ 2^52 (already an integer), NaN or infinite. ----
template <class A>
batch<double, A> round_nearest(const batch<double, A>& x, xsimd::generic) noexcept {
  using D = batch<double, A>;
  const D two52(0x1p52);
  const D sign = x & D(-0.0);
  const D t = two52 | sign;                    // copysign(2^52, x)
  const D r = (rounded<A>(x + t) - t) | sign;  // a zero result keeps x's sign, as nearbyint
  return xsimd::select(xsimd::abs(x) < two52, r, x);
}
#if XSIMD_WITH_SSE4_1
template <class A>
batch<double, A> round_nearest(const batch<double, A>& x, xsimd::sse4_1) noexcept {
  return _mm_round_pd(x, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
}
#endif
#if XSIMD_WITH_AVX
template <class A>
batch<double, A> round_nearest(const batch<double, A>& x, xsimd::avx) noexcept {
  return _mm256_round_pd(x, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
batch<double, A> round_nearest(const batch<double, A>& x, xsimd::avx512f) noexcept {
  return _mm512_maskz_roundscale_pd(static_cast<__mmask8>(0xFF), x,
                                    _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
}
#endif
#if XSIMD_WITH_NEON64
template <class A>
batch<double, A> round_nearest(const batch<double, A>& x, xsimd::neon64) noexcept {
  return vrndiq_f64(x);  // frinti
}
#endif
}  // namespace detail

/// Each lane rounded to an integer in the current rounding direction (as std::nearbyint; the
/// default is to nearest, ties to even); the same bits as std::nearbyint for every input.
template <class A>
batch<double, A> round_nearest(const batch<double, A>& x) noexcept {
  return detail::round_nearest(x, A{});
}

/// lo, hi = x and y interleaved lane by lane (lo from the first halves, hi from the second).
template <class A, class T>
void zip_pairs(const batch<T, A>& x, const batch<T, A>& y, batch<T, A>& lo,
               batch<T, A>& hi) noexcept {
  detail::zip_pairs(x, y, lo, hi, A{});
}
/// Round each lane of x to float (nearest) and store batch<double, A>::size floats at dst.
template <class A>
void store_as_float(const batch<double, A>& x, float* dst) noexcept {
  detail::store_as_float(x, dst, A{});
}
/// c ? a : b per lane, for 32/64-bit integer lanes (compiles at every optimisation level).
template <class A, class T>
batch<T, A> select_int(const xsimd::batch_bool<T, A>& c, const batch<T, A>& a,
                       const batch<T, A>& b) noexcept {
  return detail::select_int(c, a, b, A{});
}
/// x << N (logical, per lane).
template <int N, class A, class T>
batch<T, A> shl(const batch<T, A>& x) noexcept {
  return detail::shl<N>(x, A{});
}
/// x >> N (logical for unsigned lanes).
template <int N, class A, class T>
batch<T, A> shr(const batch<T, A>& x) noexcept {
  return detail::shr<N>(x, A{});
}
/// a·b + c (fused where the architecture has it).
template <class A, class T>
batch<T, A> madd(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c) noexcept {
  return detail::madd(a, b, c, A{});
}
/// a·b − c (fused where the architecture has it).
template <class A, class T>
batch<T, A> msub(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c) noexcept {
  return detail::msub(a, b, c, A{});
}

/// c − a·b (fused where the architecture has it).
template <class A, class T>
batch<T, A> nmadd(const batch<T, A>& a, const batch<T, A>& b, const batch<T, A>& c) noexcept {
  return detail::nmadd(a, b, c, A{});
}
/// (p[0], p[0], p[2], p[2], …): the even-indexed of the batch<T, A>::size elements at p, each
/// twice. Reads exactly those elements; no alignment assumed.
template <class A, class T>
batch<T, A> load_dup_even(const T* p) noexcept {
  return detail::load_dup<A>(p, 0, A{});
}
/// (p[1], p[1], p[3], p[3], …): the odd-indexed ones, each twice.
template <class A, class T>
batch<T, A> load_dup_odd(const T* p) noexcept {
  return detail::load_dup<A>(p, 1, A{});
}
/// p, opaque to the optimiser: loads through the result are not merged with loads through p.
/// Keeps load_dup_even(p) and load_dup_odd(p) as two memory-operand instructions (load ports)
/// instead of one load and two register shuffles (vector ALU).
template <class T>
POSENC_FORCE_INLINE T* opaque(T* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(p));
#endif
  return p;
}

// ---- 16-bit storage. One uint32 lane holds two consecutive 16-bit elements: the even one in
// the low half, the odd one in the high half (little-endian). Converting the two halves
// separately yields the even and the odd elements as two float batches, with no shuffle. ----

/// bfloat16: even and odd elements of `u` as floats (exact).
template <class A>
POSENC_FORCE_INLINE void bf16_unpack(const batch<std::uint32_t, A>& u, batch<float, A>& even,
                                     batch<float, A>& odd) noexcept {
  using U = batch<std::uint32_t, A>;
  even = xsimd::bitwise_cast<batch<float, A>>(shl<16, A>(u));
  odd = xsimd::bitwise_cast<batch<float, A>>(u & U(0xffff0000u));
}

template <class A>
batch<std::uint32_t, A> bf16_round_bits(const batch<float, A>& f) noexcept {
  // Round to nearest even in the upper 16 bits; NaN -> quiet NaN (as the scalar version).
  using U = batch<std::uint32_t, A>;
  const U u = xsimd::bitwise_cast<U>(f);
  const U rounded = u + (U(0x7fffu) + (shr<16, A>(u) & U(1u)));
  const U qnan = u | U(0x00400000u);
  return select_int<A>((u & U(0x7fffffffu)) > U(0x7f800000u), qnan, rounded);
}

namespace detail {
template <class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> bf16_pack(const batch<float, A>& even,
                                                      const batch<float, A>& odd,
                                                      xsimd::generic) noexcept {
  using U = batch<std::uint32_t, A>;
  return (simd::bf16_round_bits<A>(odd) & U(0xffff0000u)) |
         simd::shr<16, A>(simd::bf16_round_bits<A>(even));
}
#if XSIMD_WITH_AVX512F
// The same rounding in 12 operations instead of 18: NaN lanes are found with one compare into a
// mask register and quietened by one masked OR (the generic version needs an and, a compare,
// an or and a blend per register), and the final merge is one ternary-logic operation.
template <class A>
__m512i bf16_round_bits_avx512(__m512 f) noexcept {
  const __m512i u = _mm512_castps_si512(f);
  const __m512i lsb = _mm512_and_si512(
      _mm512_maskz_srli_epi32(static_cast<__mmask16>(0xFFFF), u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb);
  return _mm512_mask_or_epi32(rounded, _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q), u,
                              _mm512_set1_epi32(0x00400000));
}
template <class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> bf16_pack(const batch<float, A>& even,
                                                      const batch<float, A>& odd,
                                                      xsimd::avx512f) noexcept {
  const __m512i e = bf16_round_bits_avx512<A>(even);
  const __m512i o = bf16_round_bits_avx512<A>(odd);
  // (o & 0xffff0000) | (e >> 16): truth table 0xEC for (a & c) | b.
  return _mm512_ternarylogic_epi32(o,
                                   _mm512_maskz_srli_epi32(static_cast<__mmask16>(0xFFFF), e, 16),
                                   _mm512_set1_epi32(static_cast<int>(0xffff0000u)), 0xEC);
}
#endif
#if POSENC_WITH_AVX512BF16
// vcvtne2ps2bf16 rounds to nearest even and quietens NaN exactly as the scalar reference
// (checked on all 2^32 floats), but treats subnormal inputs as zero. One word permutation
// restores the even/odd interleave. A subnormal input leaves a zero exponent field in the
// packed word; so does a zero. One test of the packed words (vptestnmw) clears the common
// case; only a register pair with a zero-exponent word classifies its inputs, and only a
// pair holding a subnormal takes the integer path above. (Classifying every pair, two
// vfpclassps and a mask OR on the shuffle port, costs more: bench/README.md, "bf16 packing".)
template <class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> bf16_pack(const batch<float, A>& even,
                                                      const batch<float, A>& odd,
                                                      posenc::avx512bf16) noexcept {
  // Words 0..15: even lanes, words 16..31: odd lanes.
  const __m512bh halves = _mm512_cvtne2ps_pbh(odd, even);
  alignas(64) static constexpr std::uint16_t interleave[32] = {
      0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i packed = _mm512_permutexvar_epi16(_mm512_load_si512(interleave), (__m512i)halves);
  if (_mm512_testn_epi16_mask(packed, _mm512_set1_epi16(0x7f80)) != 0) {
    constexpr int subnormal = 0x20;  // vfpclassps category
    if ((_mm512_fpclass_ps_mask(even, subnormal) | _mm512_fpclass_ps_mask(odd, subnormal)) != 0)
      return bf16_pack(even, odd, xsimd::avx512f{});
  }
  return packed;
}
#endif
}  // namespace detail

/// bfloat16: round `even` and `odd` to bfloat16 (nearest even) and pack them back.
template <class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> bf16_pack(const batch<float, A>& even,
                                                      const batch<float, A>& odd) noexcept {
  return detail::bf16_pack(even, odd, A{});
}

/// binary16 bits in the low 16 bits of each lane -> float (exact, FTZ/DAZ-independent).
template <class A>
POSENC_FORCE_INLINE batch<float, A> f16_to_f32(const batch<std::uint32_t, A>& h) noexcept {
  using U = batch<std::uint32_t, A>;
  using F = batch<float, A>;
  const U shifted_exp(0x7c00u << 13);
  U o = shl<13, A>(h & U(0x7fffu));
  const U exp = o & shifted_exp;
  o = o + U((127u - 15u) << 23);
  const U inf_nan = (o + U((128u - 16u) << 23)) |
                    select_int<A>((h & U(0x03ffu)) != U(0u), U(0x400000u), U(0u));  // NaN: quiet
  const U sub = xsimd::bitwise_cast<U>(xsimd::bitwise_cast<F>(o + U(1u << 23)) -
                                       xsimd::bitwise_cast<F>(U(113u << 23)));
  o = select_int<A>(exp == shifted_exp, inf_nan, select_int<A>(exp == U(0u), sub, o));
  return xsimd::bitwise_cast<F>(o | shl<16, A>(h & U(0x8000u)));
}

/// float -> binary16 bits (nearest even) in the low 16 bits of each lane.
template <class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> f32_to_f16(const batch<float, A>& f) noexcept {
  using U = batch<std::uint32_t, A>;
  using F = batch<float, A>;
  const U denorm_magic(((127u - 15u) + (23u - 10u) + 1u) << 23);
  U u = xsimd::bitwise_cast<U>(f);
  const U sign = u & U(0x80000000u);
  u = u ^ sign;
  const U big =
      select_int<A>(u > U(255u << 23), U(0x7e00u) | (shr<13, A>(u) & U(0x03ffu)), U(0x7c00u));
  const U small =
      xsimd::bitwise_cast<U>(xsimd::bitwise_cast<F>(u) + xsimd::bitwise_cast<F>(denorm_magic)) -
      denorm_magic;
  const U normal = shr<13, A>(u + U(((15u - 127u) << 23) + 0xfffu) + (shr<13, A>(u) & U(1u)));
  const U o = select_int<A>(u >= U((127u + 16u) << 23), big,
                            select_int<A>(u < U(113u << 23), small, normal));
  return o | shr<16, A>(sign);
}

/// binary16: even and odd elements of `u` as floats.
template <class A>
POSENC_FORCE_INLINE void f16_unpack(const batch<std::uint32_t, A>& u, batch<float, A>& even,
                                    batch<float, A>& odd) noexcept {
  using U = batch<std::uint32_t, A>;
  even = f16_to_f32<A>(u & U(0xffffu));
  odd = f16_to_f32<A>(shr<16, A>(u));
}

/// binary16: round and pack even/odd floats.
template <class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> f16_pack(const batch<float, A>& even,
                                                     const batch<float, A>& odd) noexcept {
  return shl<16, A>(f32_to_f16<A>(odd)) | f32_to_f16<A>(even);
}

// ---- binary16 by hardware conversion: vcvtph2ps / vcvtps2ph (AVX-512F, and F16C on
// posenc::avx2f16c), fcvtl / fcvtn on AArch64 (neon64; FPCR's default round-to-nearest-even,
// default-NaN off: payloads kept as on x86); xsimd's own AVX2 tags do not imply F16C, so a kernel on them could differ
// between TUs built with and without -mf16c: they keep the integer conversion). Exact, round to
// nearest even whatever MXCSR says, and the same bits as posenc::detail::f32_to_f16_bits /
// f16_bits_to_f32 for every input, NaN payloads included (checked once on all 2^32 floats and
// 2^16 halves; storage_test checks every half and 2^20 + edge floats on each run); FTZ/DAZ
// cannot change a result (a float subnormal rounds to a binary16 zero either way). Kernels on
// these architectures read binary16 in its natural order, not split into even/odd lanes. ----

/// Whether A converts binary16 in hardware (f16_load / f16_store / dup_even / dup_odd below).
template <class A>
constexpr bool hw_f16() noexcept {
#if XSIMD_WITH_AVX512F
  if (std::is_base_of<xsimd::avx512f, A>::value) return true;
#endif
#if POSENC_WITH_AVX2F16C
  if (std::is_base_of<posenc::avx2f16c, A>::value) return true;
#endif
#if XSIMD_WITH_NEON64
  if (std::is_base_of<xsimd::neon64, A>::value) return true;  // fcvtl / fcvtn (ARMv8-A base)
#endif
  return false;
}

// (Declared for every architecture, so that kernels can name them in a branch taken only
// when hw_f16<A>(); instantiating one for another architecture fails to compile. The
// zero-masked intrinsics with an all-ones mask compile to the unmasked instructions; the
// unmasked ones start from _mm512_undefined_*, which g++ 12 reports as maybe-uninitialized.)
#if XSIMD_WITH_AVX512F
namespace detail {
constexpr __mmask16 all16 = static_cast<__mmask16>(0xFFFF);
template <class A>
constexpr bool is_avx512 = std::is_base_of<xsimd::avx512f, A>::value;
}  // namespace detail
#define POSENC_IF_AVX512(A) if constexpr (detail::is_avx512<A>)
#else
#define POSENC_IF_AVX512(A) if constexpr (false)
#endif
/// batch<float, A>::size binary16 values at p, as floats (exact).
template <class A>
POSENC_FORCE_INLINE batch<float, A> f16_load(const std::uint16_t* p) noexcept {
  static_assert(hw_f16<A>(), "f16_load: architecture without binary16 conversion");
  POSENC_IF_AVX512(A) {
#if XSIMD_WITH_AVX512F
    return _mm512_maskz_cvtph_ps(detail::all16,
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
#endif
  }
  else {
#if POSENC_WITH_AVX2F16C
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#elif XSIMD_WITH_NEON64
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
#else
    (void)p;
    return {};
#endif
  }
}
/// Round f to binary16 (nearest even) and store batch<float, A>::size values at p.
template <class A>
POSENC_FORCE_INLINE void f16_store(std::uint16_t* p, const batch<float, A>& f) noexcept {
  static_assert(hw_f16<A>(), "f16_store: architecture without binary16 conversion");
  POSENC_IF_AVX512(A) {
#if XSIMD_WITH_AVX512F
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(p),
        _mm512_maskz_cvtps_ph(detail::all16, f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  }
  else {
#if POSENC_WITH_AVX2F16C
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif XSIMD_WITH_NEON64
    vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(f)));  // FPCR rounding: nearest even
#else
    (void)p, (void)f;
#endif
  }
}
/// (x0, x0, x2, x2, …) and (x1, x1, x3, x3, …) of a register (one shuffle each).
template <class A>
POSENC_FORCE_INLINE batch<float, A> dup_even(const batch<float, A>& x) noexcept {
  static_assert(hw_f16<A>(), "dup_even: AVX-512, avx2f16c and neon64 only");
  POSENC_IF_AVX512(A) {
#if XSIMD_WITH_AVX512F
    return _mm512_maskz_moveldup_ps(detail::all16, x);
#endif
  }
  else {
#if POSENC_WITH_AVX2F16C
    return _mm256_moveldup_ps(x);
#elif XSIMD_WITH_NEON64
    return vtrn1q_f32(x, x);
#else
    return x;
#endif
  }
}
template <class A>
POSENC_FORCE_INLINE batch<float, A> dup_odd(const batch<float, A>& x) noexcept {
  static_assert(hw_f16<A>(), "dup_odd: AVX-512, avx2f16c and neon64 only");
  POSENC_IF_AVX512(A) {
#if XSIMD_WITH_AVX512F
    return _mm512_maskz_movehdup_ps(detail::all16, x);
#endif
  }
  else {
#if POSENC_WITH_AVX2F16C
    return _mm256_movehdup_ps(x);
#elif XSIMD_WITH_NEON64
    return vtrn2q_f32(x, x);
#else
    return x;
#endif
  }
}
#undef POSENC_IF_AVX512

// ---- natural-order stores of one float register to 16-bit storage (the out-of-place
// rotation's destination): element i of f goes to p[i], rounded once (nearest even). ----
namespace detail {
template <class A>
void narrow_store16(std::uint16_t* p, const batch<std::uint32_t, A>& u, xsimd::generic) noexcept {
  constexpr std::size_t N = batch<std::uint32_t, A>::size;
  alignas(64) std::uint32_t w[N];
  u.store_aligned(w);
  for (std::size_t i = 0; i < N; ++i) p[i] = static_cast<std::uint16_t>(w[i]);
}
// (Every lane holds a value < 2^16, so the saturating packs are exact.)
#if XSIMD_WITH_SSE4_1
template <class A>
void narrow_store16(std::uint16_t* p, const batch<std::uint32_t, A>& u, xsimd::sse4_1) noexcept {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi32(u, u));
}
#endif
#if XSIMD_WITH_AVX2
template <class A>
void narrow_store16(std::uint16_t* p, const batch<std::uint32_t, A>& u, xsimd::avx2) noexcept {
  // Per 128-bit lane (u0..3 packed twice | u4..7 twice); quadwords 0 and 2 hold u0..7.
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(u, u), 0x08);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
void narrow_store16(std::uint16_t* p, const batch<std::uint32_t, A>& u, xsimd::avx512f) noexcept {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_maskz_cvtepi32_epi16(all16, u));
}
#endif
}  // namespace detail

/// Round f to bfloat16 and store batch<float, A>::size values at p (natural order).
template <class A>
POSENC_FORCE_INLINE void bf16_store(std::uint16_t* p, const batch<float, A>& f) noexcept {
  detail::narrow_store16(p, shr<16, A>(bf16_round_bits<A>(f)), A{});
}
/// Round f to binary16 and store batch<float, A>::size values at p (natural order), in
/// hardware where hw_f16<A>().
template <class A>
POSENC_FORCE_INLINE void f16_store_any(std::uint16_t* p, const batch<float, A>& f) noexcept {
  if constexpr (hw_f16<A>()) {
    f16_store<A>(p, f);
  } else {
    detail::narrow_store16(p, f32_to_f16<A>(f), A{});
  }
}

/// 16-bit storage T (bfloat16 or binary16 kind) in registers: u holds 2N elements of T, two per
/// uint32 lane; unpack16 widens them exactly, the even-indexed ones to `even` and the odd ones
/// to `odd`; pack16 is its inverse, each value rounded once (as posenc::storage_cast<T>).
template <class T, class A>
POSENC_FORCE_INLINE void unpack16(const batch<std::uint32_t, A>& u, batch<float, A>& even,
                                  batch<float, A>& odd) noexcept {
  if constexpr (storage_traits<T>::kind == storage_kind::bf16) {
    bf16_unpack<A>(u, even, odd);
  } else {
    f16_unpack<A>(u, even, odd);
  }
}
template <class T, class A>
POSENC_FORCE_INLINE batch<std::uint32_t, A> pack16(const batch<float, A>& even,
                                                   const batch<float, A>& odd) noexcept {
  if constexpr (storage_traits<T>::kind == storage_kind::bf16) {
    return bf16_pack<A>(even, odd);
  } else {
    return f16_pack<A>(even, odd);
  }
}

/// The 16-bit loop body of the bfloat16 / binary16 kernels, written once (Highway's Transform
/// pattern; each kernel keeps only its arithmetic): the 2N elements of T at x + i are loaded,
/// widened exactly (unpack16: even-indexed to a, odd-indexed to b), f(a, b) updates them, and
/// they are narrowed (one rounding each, pack16) and stored back.
template <class T, class A, class F>
POSENC_FORCE_INLINE void transform16(std::uint16_t* x, std::size_t i, F&& f) noexcept {
  using U = batch<std::uint32_t, A>;
  using H = batch<std::uint16_t, A>;
  batch<float, A> a, b;
  unpack16<T, A>(xsimd::bitwise_cast<U>(H::load_unaligned(x + i)), a, b);
  f(a, b);
  xsimd::bitwise_cast<H>(pack16<T, A>(a, b)).store_unaligned(x + i);
}
// ---- scans within one register of 32/64-bit integer lanes (the BiPE segmenter's lane-parallel
// pass). slide_up<K>(x): lane l is x[l − K] for l ≥ K, 0 below. SSE2: one byte shift; AVX2: a
// 128-bit lane permute and an alignr; AVX-512: one valignd / valignq against a zero register;
// NEON: one vext; AVX without AVX2 (no 256-bit integer shuffles): two 128-bit halves.
// lane_bits(m): bit l set where lane l of m is true (movemask / the mask register; otherwise
// a select and a horizontal add). ----
namespace detail {
template <class T, class A>
std::uint32_t lane_bits(const xsimd::batch_bool<T, A>& m, xsimd::generic) noexcept {
  constexpr std::size_t N = batch<T, A>::size;
  alignas(64) T w[N];
  for (std::size_t l = 0; l < N; ++l) w[l] = static_cast<T>(T(1) << l);
  return static_cast<std::uint32_t>(
      xsimd::hadd(select_int(m, batch<T, A>::load_unaligned(w), batch<T, A>(T(0)), A{})));
}
#if XSIMD_WITH_SSE2
template <std::size_t K, class T, class A>
batch<T, A> slide_up(const batch<T, A>& x, xsimd::sse2) noexcept {
  return _mm_slli_si128(x, static_cast<int>(K * sizeof(T)));
}
template <class T, class A>
std::uint32_t lane_bits(const xsimd::batch_bool<T, A>& m, xsimd::sse2) noexcept {
  if constexpr (sizeof(T) == 4) {
    return static_cast<std::uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(m)));
  } else {
    return static_cast<std::uint32_t>(_mm_movemask_pd(_mm_castsi128_pd(m)));
  }
}
#endif
#if XSIMD_WITH_AVX
template <std::size_t K, class T, class A>
batch<T, A> slide_up(const batch<T, A>& x, xsimd::avx) noexcept {
  constexpr int b = static_cast<int>(K * sizeof(T));
  const __m128i lo = _mm256_castsi256_si128(x), hi = _mm256_extractf128_si256(x, 1);
  __m128i l2 = _mm_setzero_si128(), h2 = lo;
  if constexpr (b < 16) {
    l2 = _mm_slli_si128(lo, b);
    h2 = _mm_alignr_epi8(hi, lo, 16 - b);
  } else if constexpr (b > 16) {
    h2 = _mm_slli_si128(lo, b - 16);
  }
  return _mm256_insertf128_si256(_mm256_castsi128_si256(l2), h2, 1);
}
template <class T, class A>
std::uint32_t lane_bits(const xsimd::batch_bool<T, A>& m, xsimd::avx) noexcept {
  if constexpr (sizeof(T) == 4) {
    return static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(m)));
  } else {
    return static_cast<std::uint32_t>(_mm256_movemask_pd(_mm256_castsi256_pd(m)));
  }
}
#endif
#if XSIMD_WITH_AVX2
template <std::size_t K, class T, class A>
batch<T, A> slide_up(const batch<T, A>& x, xsimd::avx2) noexcept {
  constexpr int b = static_cast<int>(K * sizeof(T));
  const __m256i lo = _mm256_permute2x128_si256(x, x, 0x08);  // (0, x's low half)
  if constexpr (b < 16) {
    return _mm256_alignr_epi8(x, lo, 16 - b);
  } else if constexpr (b == 16) {
    return lo;
  } else {
    return _mm256_slli_si256(lo, b - 16);
  }
}
#endif
#if XSIMD_WITH_AVX512F
template <std::size_t K, class T, class A>
batch<T, A> slide_up(const batch<T, A>& x, xsimd::avx512f) noexcept {
  const __m512i z = _mm512_setzero_si512();
  if constexpr (sizeof(T) == 4) {
    return _mm512_maskz_alignr_epi32(__mmask16(0xffff), x, z, static_cast<int>(16 - K));
  } else {
    return _mm512_maskz_alignr_epi64(__mmask8(0xff), x, z, static_cast<int>(8 - K));
  }
}
template <class T, class A>
std::uint32_t lane_bits(const xsimd::batch_bool<T, A>& m, xsimd::avx512f) noexcept {
  if constexpr (sizeof(T) == 4) {
    return static_cast<__mmask16>(m);
  } else {
    return static_cast<__mmask8>(m);
  }
}
#endif
template <class T, class A>
batch<T, A> max_int(const batch<T, A>& x, const batch<T, A>& y, xsimd::generic) noexcept {
  return xsimd::max(x, y);
}
#if XSIMD_WITH_AVX512F
// (the zero-masking forms: xsimd's unmasked max trips g++ 12's -Wmaybe-uninitialized)
template <class T, class A>
batch<T, A> max_int(const batch<T, A>& x, const batch<T, A>& y, xsimd::avx512f) noexcept {
  if constexpr (sizeof(T) == 4) {
    return _mm512_maskz_max_epi32(__mmask16(0xffff), x, y);
  } else {
    return _mm512_maskz_max_epi64(__mmask8(0xff), x, y);
  }
}
#endif
#if XSIMD_WITH_NEON
template <std::size_t K, class T, class A>
batch<T, A> slide_up(const batch<T, A>& x, xsimd::neon) noexcept {
  if constexpr (sizeof(T) == 4) {
    return vextq_s32(vdupq_n_s32(0), x, static_cast<int>(4 - K));
  } else {
    return vextq_s64(vdupq_n_s64(0), x, static_cast<int>(2 - K));
  }
}
#endif
}  // namespace detail

/// Lane l of the result is x[l − K] for l ≥ K, 0 below (int32 / int64 lanes, 0 < K < size).
template <std::size_t K, class A, class T>
batch<T, A> slide_up(const batch<T, A>& x) noexcept {
  static_assert(std::is_integral<T>::value && (sizeof(T) == 4 || sizeof(T) == 8) && K > 0 &&
                    K < batch<T, A>::size,
                "posenc::simd::slide_up: 32/64-bit integer lanes, 0 < K < size");
  return detail::slide_up<K>(x, A{});
}
/// Bit l set where lane l of m is true (32/64-bit integer lanes).
template <class A, class T>
std::uint32_t lane_bits(const xsimd::batch_bool<T, A>& m) noexcept {
  return detail::lane_bits(m, A{});
}
namespace detail {
template <std::size_t K, class A, class T, class Op>
batch<T, A> prefix_scan(const batch<T, A>& x, const Op& op) noexcept {
  if constexpr (K >= batch<T, A>::size) {
    return x;
  } else {
    return prefix_scan<2 * K, A>(op(x, simd::slide_up<K, A>(x)), op);
  }
}
}  // namespace detail
/// Inclusive prefix sum across the lanes of x (lane l: x[0] + … + x[l]), log2(size) steps.
template <class A, class T>
batch<T, A> prefix_sum(const batch<T, A>& x) noexcept {
  return detail::prefix_scan<1, A>(
      x, [](const batch<T, A>& a, const batch<T, A>& b) { return a + b; });
}
/// Inclusive prefix maximum across the lanes of x, for lanes ≥ 0 (the slides bring in zeros).
template <class A, class T>
batch<T, A> prefix_max(const batch<T, A>& x) noexcept {
  return detail::prefix_scan<1, A>(
      x, [](const batch<T, A>& a, const batch<T, A>& b) { return detail::max_int(a, b, A{}); });
}
/// Number of set bits of m.
template <class A>
unsigned popcount(std::uint32_t m) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return static_cast<unsigned>(__builtin_popcount(m));
#else
  unsigned c = 0;
  for (; m != 0; m &= m - 1) ++c;
  return c;
#endif
}
/// Index of the highest set bit of m (m != 0).
template <class A>
unsigned highest_bit(std::uint32_t m) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return 31u - static_cast<unsigned>(__builtin_clz(m));
#else
  unsigned i = 31;
  for (; (m >> i) == 0; --i) {
  }
  return i;
#endif
}
/// transform16 over two streams at once (half-split RoPE: the two halves of a head):
/// f(xa, xb, ya, yb) with x's even/odd elements in xa/xb and y's in ya/yb.
template <class T, class A, class F>
POSENC_FORCE_INLINE void transform16(std::uint16_t* x, std::uint16_t* y, std::size_t i,
                                     F&& f) noexcept {
  using U = batch<std::uint32_t, A>;
  using H = batch<std::uint16_t, A>;
  batch<float, A> xa, xb, ya, yb;
  unpack16<T, A>(xsimd::bitwise_cast<U>(H::load_unaligned(x + i)), xa, xb);
  unpack16<T, A>(xsimd::bitwise_cast<U>(H::load_unaligned(y + i)), ya, yb);
  f(xa, xb, ya, yb);
  xsimd::bitwise_cast<H>(pack16<T, A>(xa, xb)).store_unaligned(x + i);
  xsimd::bitwise_cast<H>(pack16<T, A>(ya, yb)).store_unaligned(y + i);
}
/// The store half of transform16: a and b narrowed (one rounding each) to the 2N elements of T
/// at x + i, a to the even-indexed ones.
template <class T, class A>
POSENC_FORCE_INLINE void store16(std::uint16_t* x, std::size_t i, const batch<float, A>& a,
                                 const batch<float, A>& b) noexcept {
  xsimd::bitwise_cast<batch<std::uint16_t, A>>(pack16<T, A>(a, b)).store_unaligned(x + i);
}

}  // namespace simd
}  // namespace posenc

#endif  // POSENC_HAS_XSIMD
#endif  // POSENC_SIMD_OPS_HPP
