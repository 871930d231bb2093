// posenc — storage element types: float, double, and 16-bit bfloat16 / IEEE half.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_STORAGE_HPP
#define POSENC_STORAGE_HPP

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "posenc/config.hpp"

namespace posenc {

/// bfloat16 storage: the upper 16 bits of an IEEE binary32 (1 sign, 8 exponent, 7 mantissa).
struct bfloat16_t {
  std::uint16_t bits;
};

/// IEEE 754 binary16 storage (1 sign, 5 exponent, 10 mantissa).
struct float16_t {
  std::uint16_t bits;
};

namespace detail {
// The conversions are always inlined: called from kernels compiled with -mavx2 or AVX-512
// flags, an out-of-line copy would be a weak symbol the linker may pick for baseline code too
// (tests/support/check_isa_symbols.sh).
POSENC_FORCE_INLINE std::uint32_t f32_bits(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
POSENC_FORCE_INLINE float bits_f32(std::uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// bfloat16 bits -> float (exact).
POSENC_FORCE_INLINE float bf16_bits_to_f32(std::uint16_t b) noexcept {
  return bits_f32(static_cast<std::uint32_t>(b) << 16);
}
/// float -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN.
POSENC_FORCE_INLINE std::uint16_t f32_to_bf16_bits(float f) noexcept {
  std::uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

/// binary16 bits -> float (exact; subnormals renormalised with normal-float arithmetic only,
/// so the result does not depend on the FTZ/DAZ mode of the caller). A NaN keeps its payload
/// and comes out quiet, as x86's vcvtph2ps (F16C, AVX-512) makes it.
POSENC_FORCE_INLINE float f16_bits_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t shifted_exp = 0x7c00u << 13;
  std::uint32_t o = (static_cast<std::uint32_t>(h) & 0x7fffu) << 13;
  const std::uint32_t exp = shifted_exp & o;
  o += (127u - 15u) << 23;
  if (exp == shifted_exp) {
    o += (128u - 16u) << 23;                 // Inf / NaN
    if ((h & 0x03ffu) != 0) o |= 0x400000u;  // NaN: quiet
  } else if (exp == 0) {
    o += 1u << 23;  // subnormal: renormalise, then remove the implicit bit
    o = f32_bits(bits_f32(o) - bits_f32(113u << 23));
  }
  o |= (static_cast<std::uint32_t>(h) & 0x8000u) << 16;
  return bits_f32(o);
}
/// float -> binary16 bits, round to nearest even; overflow -> Inf; NaN -> quiet NaN with the
/// upper 10 bits of the payload (as x86's vcvtps2ph: the two agree on all 2^32 floats).
POSENC_FORCE_INLINE std::uint16_t f32_to_f16_bits(float f) noexcept {
  const std::uint32_t f32infty = 255u << 23;
  const std::uint32_t f16max = (127u + 16u) << 23;
  const std::uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  std::uint32_t u = f32_bits(f);
  const std::uint32_t sign = u & 0x80000000u;
  u ^= sign;
  std::uint32_t o;
  if (u >= f16max) {
    o = (u > f32infty) ? 0x7e00u | ((u >> 13) & 0x03ffu) : 0x7c00u;
  } else if (u < (113u << 23)) {
    o = f32_bits(bits_f32(u) + bits_f32(denorm_magic)) - denorm_magic;
  } else {
    const std::uint32_t mant_odd = (u >> 13) & 1u;
    u += ((15u - 127u) << 23) + 0xfffu;  // unsigned wrap-around is the intended re-bias
    u += mant_odd;
    o = u >> 13;
  }
  return static_cast<std::uint16_t>(o | (sign >> 16));
}
}  // namespace detail

inline float to_float(bfloat16_t v) noexcept { return detail::bf16_bits_to_f32(v.bits); }
inline float to_float(float16_t v) noexcept { return detail::f16_bits_to_f32(v.bits); }
inline bfloat16_t to_bfloat16(float f) noexcept { return bfloat16_t{detail::f32_to_bf16_bits(f)}; }
inline float16_t to_float16(float f) noexcept { return float16_t{detail::f32_to_f16_bits(f)}; }

/// What the kernels need to know about a storage type.
enum class storage_kind { f32, f64, bf16, f16 };

/**
 * storage_traits<T>: `kind` and `coef_type` (the arithmetic type: double for f64, float
 * otherwise). 16-bit types must be standard-layout with a single 16-bit member holding the
 * bits, so that a `T*` can be read as `std::uint16_t*`. Specialise it for your own 16-bit
 * types (posenc/eigen.hpp does so for Eigen::half and Eigen::bfloat16).
 */
template <class T>
struct storage_traits {
  static constexpr bool supported = false;
};
template <>
struct storage_traits<float> {
  static constexpr bool supported = true;
  static constexpr storage_kind kind = storage_kind::f32;
  using coef_type = float;
};
template <>
struct storage_traits<double> {
  static constexpr bool supported = true;
  static constexpr storage_kind kind = storage_kind::f64;
  using coef_type = double;
};
template <>
struct storage_traits<bfloat16_t> {
  static constexpr bool supported = true;
  static constexpr storage_kind kind = storage_kind::bf16;
  using coef_type = float;
};
template <>
struct storage_traits<float16_t> {
  static constexpr bool supported = true;
  static constexpr storage_kind kind = storage_kind::f16;
  using coef_type = float;
};

/// The coefficient (cos/sin) type used for storage T.
template <class T>
using coef_t = typename storage_traits<std::remove_const_t<T>>::coef_type;

namespace detail {
template <class T>
constexpr bool is_16bit_storage() noexcept {
  return storage_traits<T>::kind == storage_kind::bf16 ||
         storage_traits<T>::kind == storage_kind::f16;
}

// The element conversions every kernel and reference uses (always inlined: no out-of-line
// copy under ISA flags, see f32_bits). C is the arithmetic type (coef_t<T>, or a wider one).
/// Element x as C (exact for every storage type: 16-bit values widen exactly).
template <class C, class T>
POSENC_FORCE_INLINE C load_elem(const T& x) noexcept {
  constexpr storage_kind k = storage_traits<T>::kind;
  if constexpr (k == storage_kind::bf16) {
    return bf16_bits_to_f32(*reinterpret_cast<const std::uint16_t*>(&x));
  } else if constexpr (k == storage_kind::f16) {
    return f16_bits_to_f32(*reinterpret_cast<const std::uint16_t*>(&x));
  } else {
    return static_cast<C>(x);
  }
}
/// Writes v to x with one rounding (to nearest even; a NaN stays a quiet NaN).
template <class C, class T>
POSENC_FORCE_INLINE void store_elem(T& x, C v) noexcept {
  constexpr storage_kind k = storage_traits<T>::kind;
  if constexpr (k == storage_kind::bf16) {
    *reinterpret_cast<std::uint16_t*>(&x) = f32_to_bf16_bits(v);
  } else if constexpr (k == storage_kind::f16) {
    *reinterpret_cast<std::uint16_t*>(&x) = f32_to_f16_bits(v);
  } else {
    x = static_cast<T>(v);
  }
}
}  // namespace detail

/**
 * Storage conversion, the one public place (every kernel converts through the same functions,
 * so these give the kernels' bits): to_coef(x) is element x in its arithmetic type coef_t<T>,
 * exactly; storage_cast<T>(v) is v rounded once to storage T (round to nearest even; overflow
 * to ±Inf; a NaN stays a quiet NaN: bfloat16 keeps the upper payload bits, binary16 as x86's
 * vcvtps2ph). T: float, double, bfloat16_t, float16_t, or a type with a storage_traits
 * specialisation (posenc/eigen.hpp). The SIMD forms (16-bit registers <-> float registers)
 * are simd::unpack16 / simd::pack16 in posenc/simd/ops.hpp.
 */
template <class T>
POSENC_FORCE_INLINE coef_t<T> to_coef(const T& x) noexcept {
  static_assert(storage_traits<T>::supported, "posenc::to_coef: unsupported storage type");
  return detail::load_elem<coef_t<T>>(x);
}
template <class T>
POSENC_FORCE_INLINE T storage_cast(coef_t<T> v) noexcept {
  static_assert(storage_traits<T>::supported, "posenc::storage_cast: unsupported storage type");
  T x{};
  detail::store_elem<coef_t<T>>(x, v);
  return x;
}

}  // namespace posenc

#endif  // POSENC_STORAGE_HPP
