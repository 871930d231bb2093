// posenc — cos/sin coefficient kernels: angles reduced modulo π/2 in double, cos/sin in double,
// one rounding to the coefficient type. Scalar reference and xsimd kernel side by side.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_KERNELS_SINCOS_HPP
#define POSENC_KERNELS_SINCOS_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "posenc/config.hpp"
#include "posenc/detail/fp_barrier.hpp"
#include "posenc/simd/ops.hpp"
#include "posenc/types.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {
namespace kernels {

// Contract (sincos_ref and sincos):
//   for i < n:  c[i] = C(m · cos(theta[i])),  s[i] = C(m · sin(theta[i]))
// with everything before the final conversion to C in double. theta is reduced as
// r = theta − q·π/2, q = nearest integer to theta·2/π, with π/2 split into three 21-bit parts
// and a 53-bit tail, so q·part is exact and r is accurate to ~2^-86 absolute for |q| < 2^32
// (|theta| < 6.7e9; larger angles lose accuracy gradually). cos/sin of r ∈ [−π/4, π/4] use
// the fdlibm minimax polynomials (< 1 ulp in double), so after the one rounding to float the
// result is within 1 ulp of the correctly rounded float. theta, c, s must not overlap; no
// alignment is assumed.
// Every operation below is one IEEE double operation, rounded separately in the order written
// (no FMA): each result passes through detail::rounded / simd::rounded, so neither contraction
// (-ffp-contract=fast/on) nor -ffast-math's reassociation can change it, and the SIMD kernel
// gives the reference's bits on every architecture under any of those flags. q is rounded by an
// instruction (std::nearbyint, roundpd, vrndscalepd, frinti; the 1.5·2^52 addition behind a
// barrier where there is none): the classic (x + 1.5·2^52) − 1.5·2^52 is folded to x by
// -fassociative-math. What fast-math can still change: -ffinite-math-only lets the compiler
// assume theta is finite (a NaN or infinite angle gives an unspecified value instead of NaN),
// and the FTZ/DAZ mode that -Ofast programs start in reads a subnormal angle (|theta| <
// 2^-1022) as zero.

namespace detail {
// π/2 = P1 + P2 + P3 + P4 (P1..P3 have 21 significant bits; generated with mpmath, 400 bits).
constexpr double kPio2_1 = 0x1.921fb00000000p+0;
constexpr double kPio2_2 = 0x1.5110b00000000p-22;
constexpr double kPio2_3 = 0x1.1846a00000000p-44;
constexpr double kPio2_4 = -0x1.d9cceba3f91f2p-66;
constexpr double kTwoOverPi = 0x1.45f306dc9c883p-1;
constexpr double kRoundMagic = 0x1.8p52;  // q + 1.5·2^52 holds q mod 2^51 in its low bits
// origin: fdlibm k_sin.c / k_cos.c minimax coefficients on [−π/4, π/4] (published constants).
constexpr double kS1 = -1.66666666666666324348e-01;
constexpr double kS2 = 8.33333333332248946124e-03;
constexpr double kS3 = -1.98412698298579493134e-04;
constexpr double kS4 = 2.75573137070700676789e-06;
constexpr double kS5 = -2.50507602534068634195e-08;
constexpr double kS6 = 1.58969099521155010221e-10;
constexpr double kC1 = 4.16666666666666019037e-02;
constexpr double kC2 = -1.38888888888741095749e-03;
constexpr double kC3 = 2.48015872894767294178e-05;
constexpr double kC4 = -2.75573143513906633035e-07;
constexpr double kC5 = 2.08757232129817482790e-09;
constexpr double kC6 = -1.13596475577881948265e-11;

/// x rounded to the nearest integer, as std::nearbyint (and simd::round_nearest) for every
/// input: std::nearbyint where it is one instruction (SSE4.1 roundsd, AArch64 frinti),
/// elsewhere ±2^52 added and subtracted behind a barrier (glibc's nearbyint is a call that
/// saves and restores the floating-point environment).
POSENC_FORCE_INLINE double round_nearest(double x) noexcept {
#if defined(__SSE4_1__) || defined(__aarch64__) || !POSENC_FP_BARRIER_ASM
  return std::nearbyint(x);
#else
  if (!(std::fabs(x) < 0x1p52)) return x;  // an integer already, or NaN / infinite
  const double t = std::copysign(0x1p52, x);
  return std::copysign(posenc::detail::rounded(x + t) - t, x);  // −0.4 -> −0, as nearbyint
#endif
}

/// q mod 4 for an integer q: the low bits of q + 1.5·2^52 (exact for |q| < 2^51; beyond, the
/// same rounded sum in the scalar and the SIMD kernel, so they agree on every input).
POSENC_FORCE_INLINE std::uint64_t quadrant_of(double q) noexcept {
  const double t = posenc::detail::rounded(q) + kRoundMagic;
  std::uint64_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  return tb & 3u;
}

template <class Arch = scalar_arch>
void sincos_scalar(double theta, double& c_out, double& s_out) noexcept {
  using posenc::detail::add_rn;
  using posenc::detail::mul_rn;
  using posenc::detail::sub_rn;
  const double q = round_nearest(mul_rn(theta, kTwoOverPi));
  const std::uint64_t quadrant = quadrant_of(q);  // q mod 4 (also for negative q)
  double r = sub_rn(theta, mul_rn(q, kPio2_1));
  r = sub_rn(r, mul_rn(q, kPio2_2));
  r = sub_rn(r, mul_rn(q, kPio2_3));
  r = sub_rn(r, mul_rn(q, kPio2_4));
  const double z = mul_rn(r, r);
  const auto h = [z](double k, double acc) { return add_rn(k, mul_rn(z, acc)); };  // k + z·acc
  const double sp = h(kS2, h(kS3, h(kS4, h(kS5, kS6))));
  const double sin_r = add_rn(r, mul_rn(mul_rn(z, r), h(kS1, sp)));
  const double cp = mul_rn(z, h(kC1, h(kC2, h(kC3, h(kC4, h(kC5, kC6))))));
  const double hz = mul_rn(0.5, z);
  const double w = sub_rn(1.0, hz);
  const double cos_r = add_rn(w, add_rn(sub_rn(sub_rn(1.0, w), hz), mul_rn(z, cp)));
  double sv = (quadrant & 1u) ? cos_r : sin_r;
  double cv = (quadrant & 1u) ? sin_r : cos_r;
  if (quadrant & 2u) sv = -sv;
  if ((quadrant + 1u) & 2u) cv = -cv;
  c_out = cv;
  s_out = sv;
}
}  // namespace detail

/// Scalar reference: the specification, the fallback and the tail handler (`Arch` only names
/// the instantiation, see rotate.hpp).
template <class C, class Arch = scalar_arch>
void sincos_ref(const double* theta, C* c, C* s, std::size_t n, double m = 1.0) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    double cv, sv;
    detail::sincos_scalar<Arch>(theta[i], cv, sv);
    c[i] = static_cast<C>(m * cv);
    s[i] = static_cast<C>(m * sv);
  }
}

/// Angles of one position: theta[i] = position · freq[i] in double (one rounding).
template <class Arch = scalar_arch>
void position_angles(double position, const double* freq, double* theta, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) theta[i] = position * freq[i];
}

/// HF float32 angles of one position: theta[i] = double(position_f32 · freq_f32[i]) where the
/// product is one float multiplication (torch's `inv_freq @ position_ids.float()`).
template <class Arch = scalar_arch>
void position_angles_f32(float position, const float* freq, double* theta, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) theta[i] = static_cast<double>(position * freq[i]);
}

template <class C>
void sincos(scalar_arch, const double* theta, C* c, C* s, std::size_t n, double m = 1.0) noexcept {
  sincos_ref(theta, c, s, n, m);
}

#if POSENC_HAS_XSIMD
namespace detail {
template <class A>
void sincos_batch(const xsimd::batch<double, A>& theta, xsimd::batch<double, A>& c_out,
                  xsimd::batch<double, A>& s_out) noexcept {
  using D = xsimd::batch<double, A>;
  using U = xsimd::batch<std::uint64_t, A>;
  // Every operation rounded separately, in the reference's order (see the contract).
  const auto mul = [](const D& a, const D& b) { return simd::rounded<A>(a * b); };
  const auto add = [](const D& a, const D& b) { return simd::rounded<A>(a + b); };
  const auto sub = [](const D& a, const D& b) { return simd::rounded<A>(a - b); };
  const D q = simd::round_nearest<A>(mul(theta, D(kTwoOverPi)));
  const U quadrant = xsimd::bitwise_cast<U>(simd::rounded<A>(q) + D(kRoundMagic)) & U(3u);
  D r = sub(theta, mul(q, D(kPio2_1)));
  r = sub(r, mul(q, D(kPio2_2)));
  r = sub(r, mul(q, D(kPio2_3)));
  r = sub(r, mul(q, D(kPio2_4)));
  const D z = mul(r, r);
  const auto h = [&](double k, const D& acc) { return add(D(k), mul(z, acc)); };  // k + z·acc
  const D sp = h(kS2, h(kS3, h(kS4, h(kS5, D(kS6)))));
  const D sin_r = add(r, mul(mul(z, r), h(kS1, sp)));
  const D cp = mul(z, h(kC1, h(kC2, h(kC3, h(kC4, h(kC5, D(kC6)))))));
  const D hz = mul(D(0.5), z);
  const D w = sub(D(1.0), hz);
  const D cos_r = add(w, add(sub(sub(D(1.0), w), hz), mul(z, cp)));
  // Integer masks rather than a floating compare, so DAZ/FTZ modes cannot change the result.
  const U odd = U(0u) - (quadrant & U(1u));  // all ones where the quadrant is odd
  const U sin_bits = xsimd::bitwise_cast<U>(sin_r);
  const U cos_bits = xsimd::bitwise_cast<U>(cos_r);
  const U sv = (cos_bits & odd) | (sin_bits & ~odd);
  const U cv = (sin_bits & odd) | (cos_bits & ~odd);
  const U s_sign = simd::shl<62, A>(quadrant & U(2u));
  const U c_sign = simd::shl<62, A>((quadrant + U(1u)) & U(2u));
  s_out = xsimd::bitwise_cast<D>(sv ^ s_sign);
  c_out = xsimd::bitwise_cast<D>(cv ^ c_sign);
}
}  // namespace detail

/// xsimd kernel: same contract as sincos_ref.
template <class Arch, class C>
void sincos(Arch, const double* theta, C* c, C* s, std::size_t n, double m = 1.0) noexcept {
  using D = xsimd::batch<double, Arch>;
  constexpr std::size_t N = D::size;
  const D mb(m);
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    D cv, sv;
    detail::sincos_batch<Arch>(D::load_unaligned(theta + i), cv, sv);
    cv = cv * mb;
    sv = sv * mb;
    if constexpr (std::is_same<C, double>::value) {
      cv.store_unaligned(c + i);
      sv.store_unaligned(s + i);
    } else {
      simd::store_as_float<Arch>(cv, c + i);
      simd::store_as_float<Arch>(sv, s + i);
    }
  }
  sincos_ref<C, Arch>(theta + i, c + i, s + i, n - i, m);
}
#endif

}  // namespace kernels
}  // namespace posenc

#endif  // POSENC_KERNELS_SINCOS_HPP
