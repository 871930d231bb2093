// posenc — an optimisation barrier for floating-point values: keeps a rounded result rounded
// whatever -ffp-contract, -O level or -ffast-math the user compiles with.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_FP_BARRIER_HPP
#define POSENC_DETAIL_FP_BARRIER_HPP

#include <cmath>
#include <type_traits>

#include "posenc/config.hpp"

/// POSENC_FP_BARRIER_ASM is 1 where posenc::detail::rounded is an empty asm statement (GCC and
/// Clang on x86 with SSE2 and on AArch64); elsewhere it is the identity, and the arithmetic it
/// guards depends on the compiler's defaults (MSVC: /fp:precise does not contract).
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__SSE2__) || defined(__aarch64__) || defined(__ARM_NEON))
#define POSENC_FP_BARRIER_ASM 1
#else
#define POSENC_FP_BARRIER_ASM 0
#endif

namespace posenc {
namespace detail {

/**
 * x, unchanged, but opaque to the optimiser: an empty asm statement that takes x in a vector
 * register and "may change it". The compiler must therefore round the operation that produced
 * x to its type and cannot
 *   - fuse it into a following addition (contraction, -ffp-contract=fast/on: a·b + c -> fma),
 *   - reassociate or cancel through it (-fassociative-math: (x + M) − M -> x, w − w -> 0),
 *   - constant-fold or distribute it.
 * It emits no instruction (the value already lives in such a register). This is the usual
 * technique for pinning IEEE evaluation order under fast-math (e.g. glibc's math_opt_barrier,
 * sysdeps/generic/math-barriers.h). Used where the contract says "rounded separately".
 */
template <class T>
POSENC_FORCE_INLINE T rounded(T x) noexcept {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "posenc::detail::rounded: float or double");
#if POSENC_FP_BARRIER_ASM
#if defined(__SSE2__)
  __asm__("" : "+v"(x));
#else
  __asm__("" : "+w"(x));
#endif
#endif
  return x;
}

/// a·b, a + b, a − b, each rounded once and opaque (see rounded): the separately rounded
/// operations of a documented formula.
template <class T>
POSENC_FORCE_INLINE T mul_rn(T a, T b) noexcept {
  return rounded(a * b);
}
template <class T>
POSENC_FORCE_INLINE T add_rn(T a, T b) noexcept {
  return rounded(a + b);
}
template <class T>
POSENC_FORCE_INLINE T sub_rn(T a, T b) noexcept {
  return rounded(a - b);
}

/// a / b by a division instruction, rounded once, whatever -freciprocal-math allows (it turns
/// a / b with a loop-invariant b into a · RN(1/b): two roundings). A volatile asm keeps b
/// opaque and loop-variant, so the compiler can neither hoist a reciprocal nor share one.
template <class T>
POSENC_FORCE_INLINE T div_rn(T a, T b) noexcept {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "posenc::detail::div_rn: float or double");
#if POSENC_FP_BARRIER_ASM
#if defined(__SSE2__)
  __asm__ __volatile__("" : "+v"(b));
#else
  __asm__ __volatile__("" : "+w"(b));
#endif
#endif
  return rounded(a / b);
}

/// powf(b, e) from the C library's scalar powf (glibc's is correctly rounded), never from a
/// vectorised variant: under -ffast-math GCC vectorises a loop of powf calls through glibc's
/// libmvec (_ZGVdN8vv_powf), which is not correctly rounded (1 ulp off for HF's frequencies).
/// The opaque argument keeps the calling loop scalar (the vectoriser does not take loops with
/// asm statements).
inline float powf_scalar(float b, float e) noexcept { return rounded(std::pow(rounded(b), e)); }

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_FP_BARRIER_HPP
