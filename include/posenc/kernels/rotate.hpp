// posenc — pair-rotation kernels for RoPE, half-split and interleaved layouts, for float, double
// and 16-bit storage. Scalar reference and xsimd kernel side by side.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_KERNELS_ROTATE_HPP
#define POSENC_KERNELS_ROTATE_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "posenc/config.hpp"
#include "posenc/detail/fp_barrier.hpp"
#include "posenc/simd/ops.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"

namespace posenc {
namespace kernels {

// Contract (every kernel in this header), for pair k < n with elements (a, b):
//   forward (Inverse = false):  a' = a·c[k] − b·s[k],   b' = a·s[k] + b·c[k]
//   inverse (Inverse = true):   a' = a·c[k] + b·s[k],   b' = b·c[k] − a·s[k]
// half_split:  a = lo[k], b = hi[k]   (lo = row + k0, hi = row + r/2 + k0)
// interleaved: a = x[2k], b = x[2k+1]
// Arithmetic is in C = coef_t<T> (float for float and 16-bit storage, double for double);
// each output is rounded once to T (16-bit: round to nearest even). Where the architecture
// fuses multiply-adds (simd::fused_madd) the product with a is fused and the one with b is
// rounded first: a' = fma(a, c, −(b·s)), b' = fma(a, s, b·c) (inverse: fma(a, c, b·s),
// fma(a, −s, b·c)); elsewhere both products are rounded, then their sum. This holds whatever
// -ffp-contract, -O level or -ffast-math the including TU uses: fused operations are explicit
// (std::fma, FMA intrinsics), separately rounded products pass through an optimisation barrier
// (detail::rounded / simd::rounded). The rows are updated in
// place; c and s are read-only and must not overlap them. No alignment is assumed. Elements
// outside the 2n named ones are never touched.
//
// The SIMD kernels read "prepared coefficients" c2, s2, built once per token by prepare() and
// shared by every head of q and k (needs_prepared<Arch, L, T>() says when); two layouts:
//   paired (interleaved, float/double; and binary16 where natural16, see below):
//                              c2[2k] = c[k], c2[2k+1] = ±s[k];  s2[2k] = ∓s[k], s2[2k+1] = c[k]
//                              (upper signs forward, lower inverse), so that
//                              y = even(x)·c2 + odd(x)·s2, where even(x) = (x0, x0, x2, x2, …)
//                              and odd(x) = (x1, x1, x3, x3, …) come from duplicating loads
//                              (simd::load_dup_even / _odd: load ports, no shuffle);
//   lane-split (half_split, 16-bit): per block of 2N pairs (N = float lanes), the N even-indexed
//                              coefficients then the N odd-indexed ones, matching the
//                              even/odd split of a uint32 lane holding two 16-bit elements;
//                              except binary16 on architectures that convert it in hardware
//                              (natural16: AVX-512), read in natural order like float.
//   other combinations read the natural c, s directly.
//
// The *_heads kernels apply the same rotation to `heads` rows of one token: row h starts at
// x0 + h·head_stride (half-split: lo = row, hi = row + hi_offset). Same values as calling the
// one-row kernel on each row; the coefficients of a short row (up to 4 registers, 8 for the
// paired form) are loaded once for all heads. With `ahead` ≠ 0 they also hint
// each row's elements `ahead` further on into L2 (a read prefetch: it never faults and writes
// nothing, wherever it points); rope_apply passes 16 KiB for views larger than L2.

/// Coefficients of pairs [k0, k0 + n) of one token: natural and prepared.
template <class C>
struct coef_block {
  const C* c = nullptr;   // cos, natural order, n entries
  const C* s = nullptr;   // sin, natural order, n entries
  const C* c2 = nullptr;  // prepared (see above), or null when not needed
  const C* s2 = nullptr;
};

/// The rows of one token an out-of-place *_heads_to kernel reads (T const) or writes: row h
/// starts at x0 + h·head_stride; a half-split row's second half at + hi_offset.
template <class T>
struct head_rows {
  T* x0 = nullptr;
  std::ptrdiff_t head_stride = 0;
  std::size_t hi_offset = 0;
  T* row(std::size_t h) const noexcept { return x0 + static_cast<std::ptrdiff_t>(h) * head_stride; }
};

namespace detail {
template <class T>
using bits16 = std::conditional_t<std::is_const<T>::value, const std::uint16_t, std::uint16_t>;

// Storage conversion of one element (posenc/storage.hpp) and of registers of 16-bit storage
// (posenc/simd/ops.hpp), under the names the kernels use.
using posenc::detail::load_elem;
using posenc::detail::store_elem;
#if POSENC_HAS_XSIMD
using simd::pack16;
using simd::unpack16;
#endif

/// a·c − b·s and its siblings, fused (std::fma, one rounding of a·c plus the rounded product)
/// exactly when the architecture's vector madd/msub are, so that tails round like bodies.
/// Otherwise both products are rounded, whatever the compiler's -ffp-contract: they pass
/// through posenc::detail::rounded (no instruction), so a·c + prod cannot become fma(a, c,
/// prod) nor fma(b, s, RN(a·c)) behind our back. `prod` is the caller's b·s.
template <bool Fused, class C>
POSENC_FORCE_INLINE C mul_add_rounded(C a, C c, C prod) noexcept {  // a·c + prod
  if constexpr (Fused) {
    return std::fma(a, c, prod);
  } else {
    return posenc::detail::rounded(a * c) + posenc::detail::rounded(prod);
  }
}
template <bool Fused, class C>
POSENC_FORCE_INLINE C mul_sub_rounded(C a, C c, C prod) noexcept {  // a·c − prod
  if constexpr (Fused) {
    return std::fma(a, c, -prod);
  } else {
    return posenc::detail::rounded(a * c) - posenc::detail::rounded(prod);
  }
}

template <class Arch>
constexpr bool fused() noexcept {
#if POSENC_HAS_XSIMD
  if constexpr (std::is_same<Arch, scalar_arch>::value) {
    return false;
  } else {
    return simd::fused_madd<Arch>();
  }
#else
  return false;
#endif
}

}  // namespace detail

/// Scalar reference, half-split pairs (lo[k], hi[k]), out of place: reads the pairs from
/// (lo, hi) of storage S and writes them to (dlo, dhi) of storage D (dlo = lo, dhi = hi: in
/// place). A SIMD kernel calls it for its tail with its own Arch, which (1) makes copies
/// compiled with different -m flags distinct symbols the linker can never merge, and (2)
/// selects fused multiply-adds (std::fma) exactly where the vector body fuses, so body and tail
/// round alike. With Arch = scalar_arch (the default) it is the plain contract: a·c − b·s and
/// a·s + b·c, each product rounded.
template <bool Inverse, class S, class D, class C, class Arch = scalar_arch>
void rotate_half_split_ref_to(const S* lo, const S* hi, D* dlo, D* dhi, const C* c, const C* s,
                              std::size_t n) noexcept {
  constexpr bool F = detail::fused<Arch>();
  for (std::size_t k = 0; k < n; ++k) {
    const C a = detail::load_elem<C>(lo[k]);
    const C b = detail::load_elem<C>(hi[k]);
    if constexpr (!Inverse) {
      detail::store_elem<C>(dlo[k], detail::mul_sub_rounded<F>(a, c[k], b * s[k]));
      detail::store_elem<C>(dhi[k], detail::mul_add_rounded<F>(a, s[k], b * c[k]));
    } else {
      detail::store_elem<C>(dlo[k], detail::mul_add_rounded<F>(a, c[k], b * s[k]));
      detail::store_elem<C>(dhi[k], detail::mul_add_rounded<F>(a, -s[k], b * c[k]));
    }
  }
}
/// Scalar reference, half-split pairs, in place.
template <bool Inverse, class T, class C, class Arch = scalar_arch>
void rotate_half_split_ref(T* lo, T* hi, const C* c, const C* s, std::size_t n) noexcept {
  rotate_half_split_ref_to<Inverse, T, T, C, Arch>(lo, hi, lo, hi, c, s, n);
}

/// Scalar reference, interleaved pairs (x[2k], x[2k+1]), out of place (y = x: in place);
/// `Arch` as above.
template <bool Inverse, class S, class D, class C, class Arch = scalar_arch>
void rotate_interleaved_ref_to(const S* x, D* y, const C* c, const C* s, std::size_t n) noexcept {
  constexpr bool F = detail::fused<Arch>();
  for (std::size_t k = 0; k < n; ++k) {
    const C a = detail::load_elem<C>(x[2 * k]);
    const C b = detail::load_elem<C>(x[2 * k + 1]);
    if constexpr (!Inverse) {
      detail::store_elem<C>(y[2 * k], detail::mul_sub_rounded<F>(a, c[k], b * s[k]));
      detail::store_elem<C>(y[2 * k + 1], detail::mul_add_rounded<F>(a, s[k], b * c[k]));
    } else {
      detail::store_elem<C>(y[2 * k], detail::mul_add_rounded<F>(a, c[k], b * s[k]));
      detail::store_elem<C>(y[2 * k + 1], detail::mul_add_rounded<F>(a, -s[k], b * c[k]));
    }
  }
}
/// Scalar reference, interleaved pairs, in place.
template <bool Inverse, class T, class C, class Arch = scalar_arch>
void rotate_interleaved_ref(T* x, const C* c, const C* s, std::size_t n) noexcept {
  rotate_interleaved_ref_to<Inverse, T, T, C, Arch>(x, x, c, s, n);
}

/// Does the kernel on Arch read 16-bit storage T in natural order, converting in hardware
/// (binary16 where simd::hw_f16<Arch>)? It then rotates floats as for float storage.
/// Otherwise 16-bit storage is split into even and odd lanes of 32-bit words.
template <class Arch, class T>
constexpr bool natural16() noexcept {
#if POSENC_HAS_XSIMD
  if constexpr (std::is_same<Arch, scalar_arch>::value) {
    return false;
  } else {
    return storage_traits<T>::kind == storage_kind::f16 && simd::hw_f16<Arch>();
  }
#else
  return false;
#endif
}

/// Does (Arch, layout, T) read prepared coefficients (c2, s2)?
template <class Arch, rope_layout L, class T>
constexpr bool needs_prepared() noexcept {
  constexpr bool split16 = posenc::detail::is_16bit_storage<T>() && !natural16<Arch, T>();
  if constexpr (std::is_same<Arch, scalar_arch>::value) {
    return false;
  } else if constexpr (L == rope_layout::interleaved) {
    return !split16;
  } else {
    return split16;
  }
}

/// Build the prepared form of n coefficients for the direction `Inverse` (n ≤ capacity of c2/s2:
/// 2n entries for interleaved, n for half-split). Called once per token and chunk; shared by
/// all heads.
template <class Arch, rope_layout L, class T, bool Inverse, class C>
void prepare(const C* c, const C* s, std::size_t n, C* c2, C* s2) noexcept {
  if constexpr (needs_prepared<Arch, L, T>()) {
    if constexpr (L == rope_layout::interleaved) {
      std::size_t k = 0;
#if POSENC_HAS_XSIMD
      using B = xsimd::batch<C, Arch>;
      constexpr std::size_t N = B::size;
      const B sign(-C(0));  // −s by flipping the sign bit: exact, and −0 for s = +0
      // (the bound as n − n % N, not k + N ≤ n: g++ 12 -O3 then warns falsely on the tail
      // loop below when n is a compile-time constant, -Waggressive-loop-optimizations)
      for (const std::size_t body = n - n % N; k < body; k += N) {
        const B cv = B::load_unaligned(c + k);
        const B sv = B::load_unaligned(s + k);
        const B nv = sv ^ sign;
        B lo, hi;
        simd::zip_pairs<Arch>(cv, Inverse ? nv : sv, lo, hi);  // (c, ±s)
        lo.store_unaligned(c2 + 2 * k);
        hi.store_unaligned(c2 + 2 * k + N);
        simd::zip_pairs<Arch>(Inverse ? sv : nv, cv, lo, hi);  // (∓s, c)
        lo.store_unaligned(s2 + 2 * k);
        hi.store_unaligned(s2 + 2 * k + N);
      }
#endif
      for (; k < n; ++k) {
        c2[2 * k] = c[k];
        c2[2 * k + 1] = Inverse ? -s[k] : s[k];
        s2[2 * k] = Inverse ? s[k] : -s[k];
        s2[2 * k + 1] = c[k];
      }
    } else {
      constexpr std::size_t N = lane_count<float, Arch>();
      for (std::size_t b = 0; b + 2 * N <= n; b += 2 * N) {
        for (std::size_t j = 0; j < N; ++j) {
          c2[b + j] = c[b + 2 * j];
          c2[b + N + j] = c[b + 2 * j + 1];
          s2[b + j] = s[b + 2 * j];
          s2[b + N + j] = s[b + 2 * j + 1];
        }
      }
    }
  } else {
    (void)c, (void)s, (void)n, (void)c2, (void)s2;
  }
}

// ---- scalar_arch: the references ----
template <bool Inverse, class T, class C>
void rotate_half_split(scalar_arch, T* lo, T* hi, const coef_block<C>& cf, std::size_t n) noexcept {
  rotate_half_split_ref<Inverse>(lo, hi, cf.c, cf.s, n);
}
template <bool Inverse, class T, class C>
void rotate_interleaved(scalar_arch, T* x, const coef_block<C>& cf, std::size_t n) noexcept {
  rotate_interleaved_ref<Inverse>(x, cf.c, cf.s, n);
}

template <bool Inverse, class T, class C>
void rotate_half_split_heads(scalar_arch, T* x0, std::size_t hi_offset, std::ptrdiff_t head_stride,
                             std::size_t heads, const coef_block<C>& cf, std::size_t n,
                             std::ptrdiff_t /*ahead*/ = 0) noexcept {
  for (std::size_t h = 0; h < heads; ++h) {
    T* lo = x0 + static_cast<std::ptrdiff_t>(h) * head_stride;
    rotate_half_split_ref<Inverse>(lo, lo + hi_offset, cf.c, cf.s, n);
  }
}
template <bool Inverse, class T, class C>
void rotate_interleaved_heads(scalar_arch, T* x0, std::ptrdiff_t head_stride, std::size_t heads,
                              const coef_block<C>& cf, std::size_t n,
                              std::ptrdiff_t /*ahead*/ = 0) noexcept {
  for (std::size_t h = 0; h < heads; ++h)
    rotate_interleaved_ref<Inverse>(x0 + static_cast<std::ptrdiff_t>(h) * head_stride, cf.c, cf.s,
                                    n);
}

template <bool Inverse, class S, class D, class C>
void rotate_half_split_heads_to(scalar_arch, head_rows<const S> src, head_rows<D> dst,
                                std::size_t heads, const coef_block<C>& cf, std::size_t n,
                                std::ptrdiff_t /*ahead*/ = 0) noexcept {
  for (std::size_t h = 0; h < heads; ++h)
    rotate_half_split_ref_to<Inverse>(src.row(h), src.row(h) + src.hi_offset, dst.row(h),
                                      dst.row(h) + dst.hi_offset, cf.c, cf.s, n);
}
template <bool Inverse, class S, class D, class C>
void rotate_interleaved_heads_to(scalar_arch, head_rows<const S> src, head_rows<D> dst,
                                 std::size_t heads, const coef_block<C>& cf, std::size_t n,
                                 std::ptrdiff_t /*ahead*/ = 0) noexcept {
  for (std::size_t h = 0; h < heads; ++h)
    rotate_interleaved_ref_to<Inverse>(src.row(h), dst.row(h), cf.c, cf.s, n);
}

#if POSENC_HAS_XSIMD
namespace detail {
/// Store one register of C values to storage D at p in natural order, each rounded once
/// (float and double registers to their own type; float registers to bfloat16 / binary16).
template <class Arch, class D, class C>
POSENC_FORCE_INLINE void store_reg(D* p, const xsimd::batch<C, Arch>& y) noexcept {
  constexpr storage_kind k = storage_traits<D>::kind;
  if constexpr (std::is_same<D, C>::value) {
    y.store_unaligned(p);
  } else if constexpr (k == storage_kind::bf16) {
    simd::bf16_store<Arch>(reinterpret_cast<std::uint16_t*>(p), y);
  } else {
    static_assert(k == storage_kind::f16, "posenc: destination storage of another arithmetic type");
    simd::f16_store_any<Arch>(reinterpret_cast<std::uint16_t*>(p), y);
  }
}

/// Row h of dst; when InPlace (dst is src), src's row itself, so that the in-place kernels
/// address one row, not two.
template <bool InPlace, class T, class D>
POSENC_FORCE_INLINE D* out_row(const head_rows<const T>& src, const head_rows<D>& dst,
                               std::size_t h) noexcept {
  if constexpr (InPlace) {
    return const_cast<D*>(src.row(h));
  } else {
    return dst.row(h);
  }
}

template <bool Inverse, class A, class B>
void rotate_pair(const B& a, const B& b, const B& c, const B& s, B& ya, B& yb) noexcept {
  // The contract's rounding (a's product fused, b's rounded first), as the interleaved
  // paired form computes it: interleaved is bit for bit a permuted half-split on every arch.
  if constexpr (!Inverse) {
    ya = simd::msub<A>(a, c, b * s);
    yb = simd::madd<A>(a, s, b * c);
  } else {
    ya = simd::madd<A>(a, c, b * s);
    yb = simd::nmadd<A>(a, s, b * c);
  }
}

/// One register of interleaved pairs at x in paired form: even(x)·c2 + odd(x)·s2, where `xo`
/// is x made opaque (simd::opaque), so the two duplicating loads stay on the load ports.
template <class A, class T>
POSENC_FORCE_INLINE xsimd::batch<T, A> rotate_interleaved_reg(
    const T* x, const T* xo, const xsimd::batch<T, A>& c2, const xsimd::batch<T, A>& s2) noexcept {
  return simd::madd<A>(simd::load_dup_even<A>(x), c2, simd::load_dup_odd<A>(xo) * s2);
}

}  // namespace detail

/// xsimd kernel, half-split pairs out of place: float/double pairs read from (lo, hi) in
/// their own type C, written to (dlo, dhi) of storage D (C, or 16-bit storage when C is
/// float), each output rounded once. Same contract as rotate_half_split_ref_to.
template <bool Inverse, class Arch, class S, class D, class C>
void rotate_half_split_to(Arch, const S* lo, const S* hi, D* dlo, D* dhi, const coef_block<C>& cf,
                          std::size_t n) noexcept {
  static_assert(std::is_same<S, C>::value, "posenc: the source rotates in its own type");
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    B ya, yb;
    detail::rotate_pair<Inverse, Arch>(B::load_unaligned(lo + i), B::load_unaligned(hi + i),
                                       B::load_unaligned(cf.c + i), B::load_unaligned(cf.s + i), ya,
                                       yb);
    detail::store_reg<Arch>(dlo + i, ya);
    detail::store_reg<Arch>(dhi + i, yb);
  }
  rotate_half_split_ref_to<Inverse, S, D, C, Arch>(lo + i, hi + i, dlo + i, dhi + i, cf.c + i,
                                                   cf.s + i, n - i);
}

/// xsimd kernel, half-split pairs. Same contract as rotate_half_split_ref.
template <bool Inverse, class Arch, class T, class C>
void rotate_half_split(Arch, T* lo, T* hi, const coef_block<C>& cf, std::size_t n) noexcept {
  std::size_t i = 0;
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    static_assert(std::is_same<T, C>::value, "float/double storage rotates in its own type");
    rotate_half_split_to<Inverse>(Arch{}, lo, hi, lo, hi, cf, n);
    return;
  } else if constexpr (natural16<Arch, T>()) {
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;
    std::uint16_t* lo16 = reinterpret_cast<std::uint16_t*>(lo);
    std::uint16_t* hi16 = reinterpret_cast<std::uint16_t*>(hi);
    for (; i + N <= n; i += N) {
      const F a = simd::f16_load<Arch>(lo16 + i), b = simd::f16_load<Arch>(hi16 + i);
      F ya, yb;
      detail::rotate_pair<Inverse, Arch>(a, b, F::load_unaligned(cf.c + i),
                                         F::load_unaligned(cf.s + i), ya, yb);
      simd::f16_store<Arch>(lo16 + i, ya);
      simd::f16_store<Arch>(hi16 + i, yb);
    }
  } else {
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;
    std::uint16_t* lo16 = reinterpret_cast<std::uint16_t*>(lo);
    std::uint16_t* hi16 = reinterpret_cast<std::uint16_t*>(hi);
    for (; i + 2 * N <= n; i += 2 * N) {
      simd::transform16<T, Arch>(lo16, hi16, i, [&](F& ae, F& ao, F& be, F& bo) {
        F yae, yao, ybe, ybo;
        detail::rotate_pair<Inverse, Arch>(ae, be, F::load_unaligned(cf.c2 + i),
                                           F::load_unaligned(cf.s2 + i), yae, ybe);
        detail::rotate_pair<Inverse, Arch>(ao, bo, F::load_unaligned(cf.c2 + i + N),
                                           F::load_unaligned(cf.s2 + i + N), yao, ybo);
        ae = yae, ao = yao, be = ybe, bo = ybo;
      });
    }
  }
  rotate_half_split_ref<Inverse, T, C, Arch>(lo + i, hi + i, cf.c + i, cf.s + i, n - i);
}

/// xsimd kernel, interleaved pairs out of place (paired form): float/double pairs read from x
/// in their own type C, written to y of storage D as in rotate_half_split_to.
template <bool Inverse, class Arch, class S, class D, class C>
void rotate_interleaved_to(Arch, const S* x, D* y, const coef_block<C>& cf,
                           std::size_t n) noexcept {
  static_assert(std::is_same<S, C>::value, "posenc: the source rotates in its own type");
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;  // elements per register = N/2 pairs
  const S* xo = simd::opaque(x);      // odd lanes: a separate load
  std::size_t k = 0;                  // pairs done
  for (std::size_t i = 0; i + N <= 2 * n; i += N) {
    detail::store_reg<Arch>(
        y + i, detail::rotate_interleaved_reg<Arch>(x + i, xo + i, B::load_unaligned(cf.c2 + i),
                                                    B::load_unaligned(cf.s2 + i)));
    k += N / 2;
  }
  rotate_interleaved_ref_to<Inverse, S, D, C, Arch>(x + 2 * k, y + 2 * k, cf.c + k, cf.s + k,
                                                    n - k);
}

/// xsimd kernel, interleaved pairs. Same contract as rotate_interleaved_ref.
template <bool Inverse, class Arch, class T, class C>
void rotate_interleaved(Arch, T* x, const coef_block<C>& cf, std::size_t n) noexcept {
  std::size_t k = 0;  // pairs done
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    static_assert(std::is_same<T, C>::value, "float/double storage rotates in its own type");
    rotate_interleaved_to<Inverse>(Arch{}, x, x, cf, n);
    return;
  } else if constexpr (natural16<Arch, T>()) {
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;  // elements per register = N/2 pairs
    std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
    for (std::size_t i = 0; i + N <= 2 * n; i += N) {
      const F v = simd::f16_load<Arch>(x16 + i);
      const F y = simd::madd<Arch>(simd::dup_even<Arch>(v), F::load_unaligned(cf.c2 + i),
                                   simd::dup_odd<Arch>(v) * F::load_unaligned(cf.s2 + i));
      simd::f16_store<Arch>(x16 + i, y);
      k += N / 2;
    }
  } else {
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;  // pairs per register
    std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
    for (; k + N <= n; k += N) {
      simd::transform16<T, Arch>(x16, 2 * k, [&](F& a, F& b) {
        F ya, yb;
        detail::rotate_pair<Inverse, Arch>(a, b, F::load_unaligned(cf.c + k),
                                           F::load_unaligned(cf.s + k), ya, yb);
        a = ya, b = yb;
      });
    }
  }
  rotate_interleaved_ref<Inverse, T, C, Arch>(x + 2 * k, cf.c + k, cf.s + k, n - k);
}
namespace detail {
/// Hint that the `count` elements starting `ahead` elements after p will be needed soon: one
/// read prefetch into L2 per 128 bytes (the L2 spatial prefetcher completes the line pair).
/// The address is formed as an integer, since it may lie outside the caller's array; a
/// prefetch never faults and writes nothing.
template <class T>
POSENC_FORCE_INLINE void prefetch_span(const T* p, std::ptrdiff_t ahead,
                                       std::size_t count) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const std::uintptr_t first =
      reinterpret_cast<std::uintptr_t>(p) + static_cast<std::uintptr_t>(ahead) * sizeof(T);
  for (std::size_t j = 0; j < count * sizeof(T); j += 128)
    __builtin_prefetch(reinterpret_cast<const void*>(first + j), 0, 2);
#else
  (void)p, (void)ahead, (void)count;
#endif
}

/// Half-split, float/double, NV = sizeof...(I) full registers of pairs per row (n = NV·N +
/// tail): the coefficient registers are loaded once and kept across the heads. (They are
/// initialised by pack expansion: g++ 12 keeps arrays filled in a loop as stack copies,
/// 2·NV extra stores and loads per call.)
template <bool Inverse, bool InPlace, class Arch, class T, class D, std::size_t... I>
void half_split_heads_fixed(head_rows<const T> src, head_rows<D> dst, std::size_t heads,
                            const coef_block<T>& cf, std::size_t n, std::ptrdiff_t ahead,
                            std::index_sequence<I...>) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t N = B::size;
  constexpr std::size_t NV = sizeof...(I);
  const B c[NV] = {B::load_unaligned(cf.c + I * N)...};
  const B s[NV] = {B::load_unaligned(cf.s + I * N)...};
  for (std::size_t h = 0; h < heads; ++h) {
    const T* lo = src.row(h);
    const T* hi = lo + src.hi_offset;
    D* dlo = out_row<InPlace>(src, dst, h);
    D* dhi = dlo + dst.hi_offset;
    if (ahead != 0) {
      prefetch_span(lo, ahead, NV * N);
      prefetch_span(hi, ahead, NV * N);
    }
    B ya[NV], yb[NV];
    POSENC_UNROLL
    for (std::size_t v = 0; v < NV; ++v)
      rotate_pair<Inverse, Arch>(B::load_unaligned(lo + v * N), B::load_unaligned(hi + v * N), c[v],
                                 s[v], ya[v], yb[v]);
    POSENC_UNROLL
    for (std::size_t v = 0; v < NV; ++v) {
      store_reg<Arch>(dlo + v * N, ya[v]);
      store_reg<Arch>(dhi + v * N, yb[v]);
    }
  }
  // Tails in a loop of their own: with no call inside the loop above, the coefficients stay
  // in registers (a call would clobber them, and the compiler keeps copies on the stack).
  if (NV * N < n) {
    for (std::size_t h = 0; h < heads; ++h) {
      const T* lo = src.row(h) + NV * N;
      D* dlo = dst.row(h) + NV * N;
      rotate_half_split_ref_to<Inverse, T, D, T, Arch>(lo, lo + src.hi_offset, dlo,
                                                       dlo + dst.hi_offset, cf.c + NV * N,
                                                       cf.s + NV * N, n - NV * N);
    }
  }
}

/// Interleaved, float/double, NV = sizeof...(I) full registers per row (2n = NV·N + tail),
/// paired form held (initialised as in half_split_heads_fixed).
template <bool Inverse, bool InPlace, class Arch, class T, class D, std::size_t... I>
void interleaved_heads_fixed(head_rows<const T> src, head_rows<D> dst, std::size_t heads,
                             const coef_block<T>& cf, std::size_t n, std::ptrdiff_t ahead,
                             std::index_sequence<I...>) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t N = B::size;
  constexpr std::size_t NV = sizeof...(I);
  const B c[NV] = {B::load_unaligned(cf.c2 + I * N)...};
  const B s[NV] = {B::load_unaligned(cf.s2 + I * N)...};
  constexpr std::size_t done = NV * N / 2;  // pairs in the registers
  for (std::size_t h = 0; h < heads; ++h) {
    const T* x = src.row(h);
    const T* xo = simd::opaque(x);  // odd lanes: a separate load
    D* out = out_row<InPlace>(src, dst, h);
    if (ahead != 0) prefetch_span(x, ahead, NV * N);
    B y[NV];
    POSENC_UNROLL
    for (std::size_t v = 0; v < NV; ++v)
      y[v] = rotate_interleaved_reg<Arch>(x + v * N, xo + v * N, c[v], s[v]);
    POSENC_UNROLL
    for (std::size_t v = 0; v < NV; ++v) store_reg<Arch>(out + v * N, y[v]);
  }
  if (done < n) {  // tails apart, as in half_split_heads_fixed
    for (std::size_t h = 0; h < heads; ++h)
      rotate_interleaved_ref_to<Inverse, T, D, T, Arch>(
          src.row(h) + 2 * done, dst.row(h) + 2 * done, cf.c + done, cf.s + done, n - done);
  }
}
}  // namespace detail

namespace detail {
/// Calls f(std::integral_constant<std::size_t, v>{}) when 1 ≤ v ≤ sizeof...(I); returns
/// whether it did. Turns a runtime register count into the template argument of the
/// fully unrolled kernels above.
template <class F, std::size_t... I>
bool with_count(std::size_t v, const F& f, std::index_sequence<I...>) noexcept {
  return ((v == I + 1 ? (f(std::integral_constant<std::size_t, I + 1>{}), true) : false) || ...);
}
}  // namespace detail

/// xsimd kernel over the heads of one token, out of place: float/double rows read in their own
/// type C from `src`, written to `dst` of storage D (see rotate_half_split_to).
template <bool Inverse, bool InPlace = false, class Arch, class S, class D, class C>
void rotate_half_split_heads_to(Arch, head_rows<const S> src, head_rows<D> dst, std::size_t heads,
                                const coef_block<C>& cf, std::size_t n,
                                std::ptrdiff_t ahead = 0) noexcept {
  constexpr std::size_t N = xsimd::batch<C, Arch>::size;
  const auto fixed = [&](auto nv) {
    detail::half_split_heads_fixed<Inverse, InPlace, Arch>(
        src, dst, heads, cf, n, ahead, std::make_index_sequence<decltype(nv)::value>{});
  };
  if (detail::with_count(n / N, fixed, std::make_index_sequence<4>{})) return;
  for (std::size_t h = 0; h < heads; ++h) {
    const S* lo = src.row(h);
    if (ahead != 0) {
      detail::prefetch_span(lo, ahead, n);
      detail::prefetch_span(lo + src.hi_offset, ahead, n);
    }
    D* out = detail::out_row<InPlace>(src, dst, h);
    rotate_half_split_to<Inverse>(Arch{}, lo, lo + src.hi_offset, out, out + dst.hi_offset, cf, n);
  }
}

/// xsimd kernel over the heads of one token, out of place (see rotate_interleaved_to).
template <bool Inverse, bool InPlace = false, class Arch, class S, class D, class C>
void rotate_interleaved_heads_to(Arch, head_rows<const S> src, head_rows<D> dst, std::size_t heads,
                                 const coef_block<C>& cf, std::size_t n,
                                 std::ptrdiff_t ahead = 0) noexcept {
  constexpr std::size_t N = xsimd::batch<C, Arch>::size;
  const auto fixed = [&](auto nv) {
    detail::interleaved_heads_fixed<Inverse, InPlace, Arch>(
        src, dst, heads, cf, n, ahead, std::make_index_sequence<decltype(nv)::value>{});
  };
  if (detail::with_count(2 * n / N, fixed, std::make_index_sequence<8>{})) return;
  for (std::size_t h = 0; h < heads; ++h) {
    if (ahead != 0) detail::prefetch_span(src.row(h), ahead, 2 * n);
    rotate_interleaved_to<Inverse>(Arch{}, src.row(h), detail::out_row<InPlace>(src, dst, h), cf,
                                   n);
  }
}

/// xsimd kernel over the heads of one token (see the contract).
template <bool Inverse, class Arch, class T, class C>
void rotate_half_split_heads(Arch, T* x0, std::size_t hi_offset, std::ptrdiff_t head_stride,
                             std::size_t heads, const coef_block<C>& cf, std::size_t n,
                             std::ptrdiff_t ahead = 0) noexcept {
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    rotate_half_split_heads_to<Inverse, true>(
        Arch{}, head_rows<const T>{x0, head_stride, hi_offset},
        head_rows<T>{x0, head_stride, hi_offset}, heads, cf, n, ahead);
  } else {
    for (std::size_t h = 0; h < heads; ++h) {
      T* lo = x0 + static_cast<std::ptrdiff_t>(h) * head_stride;
      if (ahead != 0) {
        detail::prefetch_span(lo, ahead, n);
        detail::prefetch_span(lo + hi_offset, ahead, n);
      }
      rotate_half_split<Inverse>(Arch{}, lo, lo + hi_offset, cf, n);
    }
  }
}

/// xsimd kernel over the heads of one token (see the contract).
template <bool Inverse, class Arch, class T, class C>
void rotate_interleaved_heads(Arch, T* x0, std::ptrdiff_t head_stride, std::size_t heads,
                              const coef_block<C>& cf, std::size_t n,
                              std::ptrdiff_t ahead = 0) noexcept {
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    rotate_interleaved_heads_to<Inverse, true>(Arch{}, head_rows<const T>{x0, head_stride, 0},
                                               head_rows<T>{x0, head_stride, 0}, heads, cf, n,
                                               ahead);
  } else {
    for (std::size_t h = 0; h < heads; ++h) {
      T* x = x0 + static_cast<std::ptrdiff_t>(h) * head_stride;
      if (ahead != 0) detail::prefetch_span(x, ahead, 2 * n);
      rotate_interleaved<Inverse>(Arch{}, x, cf, n);
    }
  }
}
#endif  // POSENC_HAS_XSIMD

}  // namespace kernels
}  // namespace posenc

#endif  // POSENC_KERNELS_ROTATE_HPP
