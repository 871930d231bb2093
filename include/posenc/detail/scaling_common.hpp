// posenc — private: validation and arithmetic shared by the RoPE scaling policies.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_SCALING_COMMON_HPP
#define POSENC_DETAIL_SCALING_COMMON_HPP

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "posenc/detail/error.hpp"
#include "posenc/frequency.hpp"

namespace posenc {
namespace detail {

using posenc::two_pi_ld;  // frequency.hpp

/// base^(−2k/r) in long double, not rounded to double: the scaling policies multiply or divide
/// it by their factors in long double and round once at the end, so that every exact-mode
/// frequency is one rounding away from the exact value (≤ 1 ulp in practice; tests allow 2)
/// and a factor of 1 gives bit for bit default_inv_freq().
inline long double inv_freq_ld(double base, std::size_t rotary_dim, std::size_t k) noexcept {
  const long double e = -static_cast<long double>(2 * k) / static_cast<long double>(rotary_dim);
  return std::pow(static_cast<long double>(base), e);
}

/// HF's float32 exponent RN32(RN32(2k) / RN32(r)) (`arange(0, r, 2).float() / r`).
inline float hf_exponent_f32(std::size_t rotary_dim, std::size_t k) noexcept {
  return div_rn(static_cast<float>(2 * k), static_cast<float>(rotary_dim));
}

/// torch's `base ** (arange(0, r, 2).float() / r)` in float32: powf(RN32(base), e_k).
inline float hf_pos_freq_f32(double base, std::size_t rotary_dim, std::size_t k) noexcept {
  return powf_scalar(static_cast<float>(base), hf_exponent_f32(rotary_dim, k));
}

/// A scaling factor s: finite and >= 1 (s = 1 means "no scaling").
inline void check_factor(const char* who, const char* field, double v) {
  if (!detail::is_finite_bits(v) || !(v >= 1.0)) invalid(who, field, v, "must be finite and >= 1");
}

/// A strictly positive finite value.
inline void check_positive(const char* who, const char* field, double v) {
  if (!detail::is_finite_bits(v) || !(v > 0.0)) invalid(who, field, v, "must be finite and > 0");
}

/// A strictly positive value that stays finite and > 0 once rounded to float, the coefficient
/// type of float and 16-bit storage (an attention factor of 1e40 is finite in double and inf in
/// every float output).
inline void check_positive_f32(const char* who, const char* field, double v) {
  if (!detail::is_finite_bits(v) || !(v > 0.0) || !detail::is_finite_bits(static_cast<float>(v)) ||
      !(static_cast<float>(v) > 0.0f))
    invalid(who, field, v, "must be finite and > 0, also as a float (|v| in [1.2e-38, 3.4e38])");
}

/// The frequencies a policy makes, both precisions, each finite and > 0; else names `field`
/// (the parameter that made them so) with its value and the first bad pair.
template <class Policy>
void check_scaled_freqs(const char* who, const char* field, double value, const Policy& p,
                        const rope_dims& d) {
  std::vector<double> f(d.pairs());
  std::vector<float> f32(d.pairs());
  p.inv_freq(d, f.data());
  p.inv_freq_f32(d, f32.data());
  for (std::size_t k = 0; k < d.pairs(); ++k) {
    const bool ok64 = detail::is_finite_bits(f[k]) && f[k] > 0.0;
    const bool ok32 = detail::is_finite_bits(f32[k]) && f32[k] > 0.0f;
    if (!ok64 || !ok32) {
      const std::string why =
          std::string("makes ") + (ok64 ? "inv_freq_f32[" : "inv_freq[") + std::to_string(k) +
          "] = " + show(ok64 ? static_cast<double>(f32[k]) : f[k]) + ", not finite and > 0";
      invalid(who, field, value, why.c_str());
    }
  }
}

/// One scaled frequency θ/c of pair k in both precisions (exact: long double θ_k / c rounded
/// once; hf_f32: RN32(θ_k^f32 / RN32(c))), each finite and > 0; else names field with c.
inline void check_divided_freq(const char* who, const std::string& field, double c,
                               const rope_dims& d, std::size_t k) {
  const double f =
      static_cast<double>(inv_freq_ld(d.base, d.rotary_dim, k) / static_cast<long double>(c));
  const float f32 = hf_inv_freq_f32(d.base, d.rotary_dim, k) / static_cast<float>(c);
  const float f32b = 1.0f / (static_cast<float>(c) * hf_pos_freq_f32(d.base, d.rotary_dim, k));
  if (!(detail::is_finite_bits(f) && f > 0.0) || !(detail::is_finite_bits(f32) && f32 > 0.0f) ||
      !(detail::is_finite_bits(f32b) && f32b > 0.0f))
    invalid(who, field.c_str(), c,
            ("makes inv_freq of pair " + std::to_string(k) +
             " not finite and > 0 in double or float (theta_k / c out of range)")
                .c_str());
}

/// A finite, non-negative value.
inline void check_non_negative(const char* who, const char* field, double v) {
  if (!detail::is_finite_bits(v) || !(v >= 0.0)) invalid(who, field, v, "must be finite and >= 0");
}

/// A context length (tokens) that must be set.
inline void check_length(const char* who, const char* field, std::size_t v) {
  if (v == 0) invalid(who, field, v, "must be > 0 (a length in tokens)");
}

/// A per-pair list: exactly r/2 entries, each finite and > 0.
inline void check_pair_list(const char* who, const char* field, const std::vector<double>& v,
                            const rope_dims& d) {
  if (v.size() != d.pairs()) {
    const std::string f = std::string(field) + ".size()";
    invalid(who, f.c_str(), v.size(),
            ("must equal rotary_dim/2 = " + std::to_string(d.pairs())).c_str());
  }
  for (std::size_t k = 0; k < v.size(); ++k) {
    const std::string f = std::string(field) + "[" + std::to_string(k) + "]";
    if (!detail::is_finite_bits(v[k]) || !(v[k] > 0.0))
      invalid(who, f.c_str(), v[k], "must be finite and > 0");
    check_divided_freq(who, f, v[k], d, k);  // θ_k / v[k] in range, in double and in float
  }
}

/// The length-dependent scalings (dynamic_ntk_scaling, longrope_scaling) name one concept, the
/// effective length: max(served_length or current_length, original_max_position).
/// current_length is HF's per-forward length, served_length the fixed served maximum (vLLM,
/// llama.cpp); hf_length_mode (hf_config.hpp) says which of the two the config reader sets.
/// LongRoPE's uses_long() is effective_length() > original_max_position.
inline std::size_t effective_length(std::size_t current_length, std::size_t served_length,
                                    std::size_t original_max_position) noexcept {
  const std::size_t l = served_length != 0 ? served_length : current_length;
  return l > original_max_position ? l : original_max_position;
}

/// current_length (HF behaviour) and served_length (vLLM / llama.cpp behaviour) are exclusive.
inline void check_length_choice(const char* who, std::size_t current_length,
                                std::size_t served_length) {
  if (current_length != 0 && served_length != 0)
    invalid(who, "served_length", served_length,
            "and current_length are exclusive: set current_length (per-length, HF) or "
            "served_length (fixed at the served maximum, vLLM), not both");
}

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_SCALING_COMMON_HPP
