// posenc — the RoPE frequency ladder θ_k = base^(−2k/r) in double, its HF float32 twin, and
// wavelength helpers. Shared by rope.hpp, the scaling policies and posenc-inspect.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_FREQUENCY_HPP
#define POSENC_FREQUENCY_HPP

#include <cmath>
#include <cstddef>

#include "posenc/detail/fp_barrier.hpp"

namespace posenc {

/// The read-only part of a RoPE configuration that a scaling policy may look at.
struct rope_dims {
  std::size_t head_dim = 0;    ///< D: channels per head
  std::size_t rotary_dim = 0;  ///< r: rotated channels (even, ≤ D); the exponent uses r, not D
  double base = 10000.0;       ///< b: rope_theta
  std::size_t pairs() const noexcept { return rotary_dim / 2; }
};

/// 2π, the one spelling: in double (= Python's `2 * math.pi`; its float, `(float)two_pi`, is
/// torch's float32 2π and ggml's `2 * (float)M_PI`) and in long double (64-bit significand on
/// x86-64; the double value elsewhere).
constexpr double two_pi = 6.283185307179586476925286766559;
constexpr long double two_pi_ld = 6.283185307179586476925286766559005768L;

/**
 * Unscaled inverse frequency of pair k: base^(−2k/r), correctly rounded to double in practice
 * (computed in long double, which is 80-bit on x86-64; the oracle test pins every value).
 * Reference: RoFormer (Su et al. 2021) θ_i = 10000^(−2(i−1)/d).
 */
inline double default_inv_freq(double base, std::size_t rotary_dim, std::size_t k) noexcept {
  const long double e = -static_cast<long double>(2 * k) / static_cast<long double>(rotary_dim);
  return static_cast<double>(std::pow(static_cast<long double>(base), e));
}

/**
 * HF transformers' float32 inverse frequency, bit for bit:
 * `1.0 / (base ** (arange(0, r, 2).float() / r))` = 1.0f / powf((float)base, (float)(2k) / (float)r).
 */
inline float hf_inv_freq_f32(double base, std::size_t rotary_dim, std::size_t k) noexcept {
  const float e = detail::div_rn(static_cast<float>(2 * k), static_cast<float>(rotary_dim));
  return detail::div_rn(1.0f, detail::powf_scalar(static_cast<float>(base), e));
}

/// Wavelength in tokens of a pair with inverse frequency f: 2π / f.
inline double wavelength(double inv_freq) noexcept { return two_pi / inv_freq; }

}  // namespace posenc

#endif  // POSENC_FREQUENCY_HPP
