// posenc tests — storage formats described from their IEEE definitions (independent of
// include/posenc), and bit-exact comparison: the one place the tests say what float, double,
// bfloat16 and binary16 are.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TESTS_SUPPORT_FORMATS_HPP
#define POSENC_TESTS_SUPPORT_FORMATS_HPP

#include <cfenv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "posenc/storage.hpp"

namespace posenc_test {

/// Same bits (memcmp): −0 ≠ +0, NaN payloads compared. For trivially copyable values...
template <class T, std::enable_if_t<std::is_trivially_copyable<T>::value, int> = 0>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}
/// ... for n elements at a and b ...
template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(T)) == 0;
}
/// ... and for two vectors (same size and same bits).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && same_bits(a.data(), b.data(), a.size());
}

/// v converted to storage type T by the library's conversion (16-bit: posenc::to_bfloat16 /
/// to_float16 of the float nearest v; tests/storage_test.cpp checks those exhaustively).
template <class T>
T from_double(double v) {
  if constexpr (std::is_same<T, posenc::bfloat16_t>::value) {
    return posenc::to_bfloat16(static_cast<float>(v));
  } else if constexpr (std::is_same<T, posenc::float16_t>::value) {
    return posenc::to_float16(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}
/// The value of a storage element as double (exact for every storage type).
template <class T>
double to_double(T v) {
  if constexpr (std::is_same<T, posenc::bfloat16_t>::value ||
                std::is_same<T, posenc::float16_t>::value) {
    return static_cast<double>(posenc::to_float(v));
  } else {
    return static_cast<double>(v);
  }
}

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

/// What the tests need to know about a storage type, from its IEEE definition: name, precision
/// p (significand bits: unit roundoff 2^-p, tolerance.hpp's unit_roundoff), `tiny` (the subnormal
/// spacing), for 16-bit types the field widths; round(v) to the format, get(x) its exact value,
/// make(v) the element holding a representable v.
template <class T>
struct storage_fmt;
template <>
struct storage_fmt<float> {
  static constexpr const char* name = "float";
  static constexpr bool is16 = false;
  static constexpr int precision = 24;      // significand bits
  static constexpr double tiny = 0x1p-149;  // subnormal spacing
  static double round(double v) { return static_cast<double>(static_cast<float>(v)); }
  static double get(float x) { return x; }
  static float make(double v) { return static_cast<float>(v); }
};
template <>
struct storage_fmt<double> {
  static constexpr const char* name = "double";
  static constexpr bool is16 = false;
  static constexpr int precision = 53;
  static constexpr double tiny = 0x1p-1074;
  static double round(double v) { return v; }
  static double get(double x) { return x; }
  static double make(double v) { return v; }
};
template <>
struct storage_fmt<posenc::bfloat16_t> {
  static constexpr const char* name = "bf16";
  static constexpr bool is16 = true;
  static constexpr int precision = 8;
  static constexpr int exp_bits = 8;
  static constexpr int mant_bits = 7;
  static constexpr double tiny = 0x1p-133;
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
  static constexpr bool is16 = true;
  static constexpr int precision = 11;
  static constexpr int exp_bits = 5;
  static constexpr int mant_bits = 10;
  static constexpr double tiny = 0x1p-24;
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

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_FORMATS_HPP
