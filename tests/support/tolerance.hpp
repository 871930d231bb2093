// posenc tests — ULP distance and the error bounds the tests derive from the arithmetic.
#ifndef POSENC_TEST_TOLERANCE_HPP
#define POSENC_TEST_TOLERANCE_HPP

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace posenc_test {

/// Distance in units in the last place between two finite values of the same type
/// (0 for equal values, including +0/−0).
template <class F>
std::int64_t ulp_distance(F a, F b) {
  static_assert(std::is_floating_point<F>::value, "float or double");
  using I = std::conditional_t<sizeof(F) == 4, std::int32_t, std::int64_t>;
  I ia, ib;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  // Map the sign-magnitude bit patterns onto a monotone integer line.
  const I min = std::numeric_limits<I>::min();
  if (ia < 0) ia = min - ia;
  if (ib < 0) ib = min - ib;
  const std::int64_t d = static_cast<std::int64_t>(ia) - static_cast<std::int64_t>(ib);
  return d < 0 ? -d : d;
}

/// Unit roundoff u = 2^-p of a format with p significand bits (float 24, double 53, bf16 8,
/// binary16 11): round-to-nearest has relative error ≤ u.
constexpr double unit_roundoff(int significand_bits) { return std::ldexp(1.0, -significand_bits); }

/**
 * Bound for one rotated element computed in a type with unit roundoff u from coefficients that
 * are within `coef_ulps` ulp of the reference coefficients:
 *     |y − y_ref| ≤ (coef_ulps·2u + 2u) · scale,   scale = |a·c| + |b·s|
 * (each coefficient's error ≤ coef_ulps·2u relative; the two products and the sum, or a fused
 * multiply-add and one product, add ≤ u·|a·c| + u·|b·s| + u·|y| ≤ 2u·scale).
 */
inline double rotation_bound(double scale, double u, double coef_ulps) {
  return (coef_ulps * 2.0 * u + 2.0 * u) * scale;
}

/// The above followed by one rounding to a storage format with unit roundoff us and smallest
/// subnormal spacing `tiny` (absolute error ≤ tiny/2 in the subnormal range).
inline double stored_rotation_bound(double scale, double y_ref, double u, double coef_ulps,
                                    double us, double tiny) {
  const double e = rotation_bound(scale, u, coef_ulps);
  return e + us * (std::fabs(y_ref) + e) + tiny / 2;
}

/// The spacing of F (float or double) at the magnitude of x: 2^(e−p+1) for |x| ∈ [2^e, 2^(e+1))
/// with p significand bits, and the subnormal spacing below the normal range. |F(x) − x| ≤
/// ulp_of<F>(x)/2 when F(x) is x correctly rounded (and F(x) does not overflow).
template <class F>
long double ulp_of(long double x) {
  static_assert(std::is_floating_point<F>::value, "float or double");
  constexpr int p = std::numeric_limits<F>::digits;
  constexpr int emin = std::numeric_limits<F>::min_exponent - 1;  // −126 / −1022
  int e = x == 0 ? emin : std::ilogb(x);
  if (e < emin) e = emin;
  return std::ldexp(1.0L, e - p + 1);
}

}  // namespace posenc_test

#endif  // POSENC_TEST_TOLERANCE_HPP
