// posenc — private: building the std::invalid_argument messages (field name and value).
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_ERROR_HPP
#define POSENC_DETAIL_ERROR_HPP

#include <cstdint>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

namespace posenc {
namespace detail {

/// x is finite (not ±inf, not NaN), decided on the bits: std::isfinite and NaN comparisons are
/// folded away under -ffinite-math-only (-ffast-math, -Ofast), which would let a NaN or
/// infinite configuration value through every validation. The library validates with these.
inline bool is_finite_bits(double x) noexcept {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u & 0x7ff0000000000000u) != 0x7ff0000000000000u;
}
inline bool is_finite_bits(float x) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u & 0x7f800000u) != 0x7f800000u;
}

/// A value as the messages show it (17 significant digits for floating point; never the
/// hundreds of digits std::to_string gives 1e300).
template <class V>
std::string show(const V& value) {
  std::ostringstream os;
  os.precision(17);
  os << value;
  return os.str();
}

/// Throws std::invalid_argument("<who>: <field> = <value> <why>").
template <class V>
[[noreturn]] void invalid(const char* who, const char* field, const V& value, const char* why) {
  std::ostringstream os;
  os.precision(17);
  os << who << ": " << field << " = " << value << ' ' << why;
  throw std::invalid_argument(os.str());
}

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_ERROR_HPP
