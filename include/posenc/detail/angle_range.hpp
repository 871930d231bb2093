// posenc — private: the position / angle range every cos-sin path shares (the kernel's
// reduction where it is accurate, the C library's full reduction beyond), and table limits.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_ANGLE_RANGE_HPP
#define POSENC_DETAIL_ANGLE_RANGE_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "posenc/kernels/sincos.hpp"
#include "posenc/types.hpp"

namespace posenc {

/// Largest capacity of a precomputed table (rope_cache, sinusoidal_table): 2^53, up to which
/// every integer position is exact in double. Positions beyond a table are still accepted by
/// apply / add_to (computed on the fly; see the position range in rope's documentation).
inline constexpr std::size_t max_table_positions = std::size_t{1} << 53;

namespace detail {
/// Largest |angle| (radians) handed to kernels::sincos, whose Cody-Waite reduction is accurate
/// for |angle| < 2^32·π/2. Larger angles (positions far beyond any context: |p|·θ_0 ≥ 2^32) take
/// the cold path below, which reduces any finite double exactly.
constexpr double sincos_kernel_limit = 4294967296.0;  // 2^32

/// cos and sin of any finite double angle, with the C library's full (Payne-Hanek) argument
/// reduction (glibc: error < 1 ulp over the whole double range). Cold path only. (`Arch` only
/// names the instantiation, so TUs built with different -m flags share no symbol.)
template <class Arch = scalar_arch>
void sincos_any_angle(double theta, double& c, double& s) noexcept {
  c = std::cos(theta);
  s = std::sin(theta);
}

/// The scalar cos/sin of one angle as every posenc path computes it: the kernel's reduction
/// below sincos_kernel_limit, the full reduction above.
template <class Arch = scalar_arch>
void sincos_angle(double theta, double& c, double& s) noexcept {
  if (std::fabs(theta) < sincos_kernel_limit) {
    kernels::detail::sincos_scalar<Arch>(theta, c, s);
  } else {
    sincos_any_angle<Arch>(theta, c, s);
  }
}

/// True when every |theta[i]| (i < n) is below sincos_kernel_limit: the chunk can take the
/// kernel (a max over the chunk, vectorised by the compiler; `Arch` names the instantiation).
template <class Arch = scalar_arch>
bool angles_in_kernel_range(const double* theta, std::size_t n) noexcept {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::fabs(theta[i]) > m ? std::fabs(theta[i]) : m;
  return m < sincos_kernel_limit;
}

/// a + b for positions, saturated to the int64 range instead of overflowing (an offset added to
/// a position near INT64_MAX stays a far position, never wraps to a negative one).
constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b)
    return std::numeric_limits<std::int64_t>::max();
  if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b)
    return std::numeric_limits<std::int64_t>::min();
  return a + b;
}

/// Before a table of `rows` positions × `width` values of `elem_size` bytes is allocated:
/// throws std::length_error("<who>: capacity = N ...") when rows > max_table_positions or
/// rows·width·elem_size does not fit in size_t (the product would wrap and under-allocate).
template <class Arch = scalar_arch>
void check_table_size(const char* who, std::size_t rows, std::size_t width, std::size_t elem_size) {
  const std::size_t max_elems = std::numeric_limits<std::size_t>::max() / elem_size;
  if (rows > max_table_positions || (width != 0 && rows > max_elems / width)) {
    std::ostringstream os;
    os << who << ": capacity = " << rows << " is too large (" << width
       << " values per position; at most 2^53 positions and the table's bytes must fit in "
          "size_t)";
    throw std::length_error(os.str());
  }
}

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_ANGLE_RANGE_HPP
