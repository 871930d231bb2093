// posenc tests — storage formats and reference helpers for the bias / embedding tests, written
// from the IEEE definitions (independent of include/posenc): rounding a value to float, double,
// bfloat16 or binary16 (round to nearest even, with subnormals and overflow), decoding stored
// 16-bit values, and a long-double softmax.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TESTS_SUPPORT_BIAS_REF_HPP
#define POSENC_TESTS_SUPPORT_BIAS_REF_HPP

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "posenc/storage.hpp"

namespace posenc_test {

/// Round v to a binary format with p significand bits, smallest normal exponent emin (the
/// value 2^emin) and largest finite value max: round to nearest, ties to even (the default
/// rounding mode, asserted), subnormals with spacing 2^(emin − p + 1), ±∞ beyond max + ½ ulp.
inline double round_to_format(double v, int p, int emin, double max) {
  if (v == 0 || !std::isfinite(v)) return v;
  if (std::fegetround() != FE_TONEAREST) return std::numeric_limits<double>::quiet_NaN();
  int e = 0;
  std::frexp(v, &e);                             // |v| ∈ [2^(e−1), 2^e)
  const int ex = std::max(e - 1, emin);          // exponent of the binade (subnormals share emin's)
  const double q = std::ldexp(1.0, ex - p + 1);  // spacing in that binade
  const double r = std::nearbyint(v / q) * q;    // v / q is exact (power-of-two division)
  if (std::fabs(r) > max)
    return v > 0 ? std::numeric_limits<double>::infinity()
                 : -std::numeric_limits<double>::infinity();
  return r;
}

/// What the tests need to know about a storage type, from its IEEE definition.
template <class T>
struct storage_fmt;
template <>
struct storage_fmt<float> {
  static constexpr const char* name = "float";
  static constexpr int precision = 24;
  static double round(double v) { return static_cast<double>(static_cast<float>(v)); }
  static double get(float x) { return x; }
  static float make(double v) { return static_cast<float>(v); }
};
template <>
struct storage_fmt<double> {
  static constexpr const char* name = "double";
  static constexpr int precision = 53;
  static double round(double v) { return v; }
  static double get(double x) { return x; }
  static double make(double v) { return v; }
};
template <>
struct storage_fmt<posenc::bfloat16_t> {
  static constexpr const char* name = "bf16";
  static constexpr int precision = 8;
  static double round(double v) {
    return round_to_format(v, 8, -126, std::ldexp(255.0, 120));  // (2 − 2^-7)·2^127
  }
  static double get(posenc::bfloat16_t x) {
    const std::uint32_t u = static_cast<std::uint32_t>(x.bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  /// The bf16 holding v (v must be representable: a result of round()).
  static posenc::bfloat16_t make(double v) {
    const float f = static_cast<float>(v);
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return posenc::bfloat16_t{static_cast<std::uint16_t>(u >> 16)};
  }
};
template <>
struct storage_fmt<posenc::float16_t> {
  static constexpr const char* name = "f16";
  static constexpr int precision = 11;
  static double round(double v) { return round_to_format(v, 11, -14, 65504.0); }
  static double get(posenc::float16_t x) {
    const int s = x.bits >> 15, e = (x.bits >> 10) & 31, m = x.bits & 1023;
    double v;
    if (e == 31) {
      v = m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    } else if (e == 0) {
      v = std::ldexp(static_cast<double>(m), -24);
    } else {
      v = std::ldexp(static_cast<double>(m + 1024), e - 25);
    }
    return s ? -v : v;
  }
  static posenc::float16_t make(double v) {
    std::uint16_t bits = std::signbit(v) ? 0x8000u : 0u;
    const double a = std::fabs(v);
    if (std::isinf(a)) return posenc::float16_t{static_cast<std::uint16_t>(bits | 0x7c00u)};
    if (a != 0) {
      int e = 0;
      std::frexp(a, &e);
      if (e - 1 < -14) {  // subnormal
        bits |= static_cast<std::uint16_t>(std::ldexp(a, 24));
      } else {
        const int m = static_cast<int>(std::ldexp(a, 11 - e)) - 1024;
        bits |= static_cast<std::uint16_t>(((e - 1 + 15) << 10) | m);
      }
    }
    return posenc::float16_t{bits};
  }
};

/// Same value, including the sign of zero and both NaN (any payload).
inline bool same_value(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

/// Softmax of a row in long double (−∞ entries get 0).
inline std::vector<long double> softmax_ld(const std::vector<double>& s) {
  long double mx = -std::numeric_limits<long double>::infinity();
  for (double v : s) mx = std::max<long double>(mx, v);
  std::vector<long double> p(s.size(), 0.0L);
  long double tot = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (std::isinf(s[i]) && s[i] < 0) continue;
    p[i] = std::exp(static_cast<long double>(s[i]) - mx);
    tot += p[i];
  }
  for (auto& v : p) v /= tot;
  return p;
}

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_BIAS_REF_HPP
