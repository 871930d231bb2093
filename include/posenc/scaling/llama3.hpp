// posenc — Llama-3.1 RoPE scaling: wavelength bands (keep / smooth blend / divide by factor).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_LLAMA3_HPP
#define POSENC_SCALING_LLAMA3_HPP

#include <cmath>
#include <cstddef>

#include "posenc/detail/fp_barrier.hpp"
#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"

namespace posenc {

/**
 * Llama-3.1 frequency-dependent scaling.
 *
 * Formula: with λ_k = 2π/θ_k the wavelength of pair k, L = original_max_position,
 *     λ_k < L/high_freq_factor            (high frequency):  θ'_k = θ_k
 *     λ_k > L/low_freq_factor             (low frequency):   θ'_k = θ_k / s
 *     otherwise (both edges inclusive)    (medium):          σ = (L/λ_k − low) / (high − low),
 *                                                            θ'_k = (1 − σ)·θ_k/s + σ·θ_k
 *   attention factor 1. Llama-3.1/3.2/3.3: s = 8 (32 for 3.2-1B/3B), low 1, high 4, L 8192,
 *   base 500000.
 * Reference: Meta's llama-models `apply_scaling` (Llama 3.1 release, July 2024); HF
 *   transformers rope_type "llama3" (`_compute_llama3_parameters`).
 * Differences: vLLM is the same math and float32 arithmetic, and guards high == low (σ = 0);
 *   HF divides by zero there (only a pair exactly on the edge is affected). llama.cpp gets the
 *   same frequencies through per-pair divisors baked by convert_hf_to_gguf.py (GGUF
 *   rope_freqs, float32): divisors() returns them, and freq_factors_scaling{divisors} reproduces
 *   this scaling (equal in exact math, float32 rounding differs).
 * Validation: high_freq_factor ≥ low_freq_factor > 0 (equal: a two-band step, the medium band
 *   is empty; σ = 0 is used as vLLM does if a float32 wavelength lands exactly on the edge).
 * Numerics: exact mode in long double, one rounding. hf_f32 mode is HF bit for bit:
 *   λ = RN32(RN32(1/θ)·RN32(2π)) (torch's `2π / t` is reciprocal-then-multiply), band edges
 *   RN32(L/low) and RN32(L/high), σ = RN32(RN32(RN32(RN32(1/λ)·RN32(L)) − RN32(low)) /
 *   RN32(high − low)), θ/s = RN32(θ/RN32(s)), blend RN32(RN32(RN32(RN32(1 − σ)·θ)/RN32(s)) +
 *   RN32(σ·θ)).
 *
 * Example (Llama-3.1-8B):
 *     posenc::rope rope({128, 0, 500000.0}, posenc::llama3_scaling{});  // head_dim, r, base
 */
struct llama3_scaling {
  double factor = 8.0;                       ///< s ≥ 1
  double low_freq_factor = 1.0;              ///< > 0: wavelengths above L/low are divided by s
  double high_freq_factor = 4.0;             ///< ≥ low: wavelengths below L/high are kept
  std::size_t original_max_position = 8192;  ///< L

  const char* name() const noexcept { return "llama3"; }

  /// Throws std::invalid_argument naming the field: factor < 1 or non-finite, low_freq_factor
  /// ≤ 0 or non-finite, high_freq_factor < low_freq_factor or non-finite, original length 0.
  void validate(const rope_dims& d) const {
    constexpr const char* who = "posenc::llama3_scaling";
    detail::check_factor(who, "factor", factor);
    detail::check_positive(who, "low_freq_factor", low_freq_factor);
    detail::check_positive(who, "high_freq_factor", high_freq_factor);
    if (!(high_freq_factor >= low_freq_factor))
      detail::invalid(who, "high_freq_factor", high_freq_factor, "must be >= low_freq_factor");
    detail::check_length(who, "original_max_position", original_max_position);
    if (d.rotary_dim != 0) detail::check_scaled_freqs(who, "factor", factor, *this, d);
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    const long double L = static_cast<long double>(original_max_position);
    const long double lo = low_freq_factor, hi = high_freq_factor;
    const long double low_wl = L / lo, high_wl = L / hi;
    const long double inv_s = 1.0L / static_cast<long double>(factor);
    for (std::size_t k = 0; k < d.pairs(); ++k) {
      const long double t = detail::inv_freq_ld(d.base, d.rotary_dim, k);
      const long double wl = detail::two_pi_ld / t;
      long double m = 1.0L;  // θ'/θ
      if (wl > low_wl) {
        m = inv_s;
      } else if (!(wl < high_wl) && hi != lo) {
        const long double sigma = (L / wl - lo) / (hi - lo);
        m = inv_s + sigma * (1.0L - inv_s);  // (1 − σ)/s + σ; s = 1 gives exactly 1
      }
      out[k] = static_cast<double>(
          m == 1.0L ? t : (m == inv_s ? t / static_cast<long double>(factor) : t * m));
    }
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    const double L = static_cast<double>(original_max_position);
    const float low_wl = static_cast<float>(L / low_freq_factor);
    const float high_wl = static_cast<float>(L / high_freq_factor);
    const float two_pi32 = static_cast<float>(two_pi);  // torch: 2 * math.pi on a float tensor
    const float L32 = static_cast<float>(L);
    const float lo32 = static_cast<float>(low_freq_factor);
    const float span32 = static_cast<float>(high_freq_factor - low_freq_factor);
    const float s32 = static_cast<float>(factor);
    // Every operation rounded once in HF's order (detail::*_rn: no contraction into an FMA, no
    // reciprocal or reassociation under -ffast-math).
    using detail::add_rn;
    using detail::div_rn;
    using detail::mul_rn;
    using detail::sub_rn;
    for (std::size_t k = 0; k < d.pairs(); ++k) {
      const float t = hf_inv_freq_f32(d.base, d.rotary_dim, k);
      const float wl = mul_rn(div_rn(1.0f, t), two_pi32);
      const float tl = wl > low_wl ? div_rn(t, s32) : t;
      const bool medium = !(wl < high_wl) && !(wl > low_wl);
      if (!medium) {
        out[k] = tl;
        continue;
      }
      const float sigma =
          span32 != 0.0f ? div_rn(sub_rn(mul_rn(div_rn(1.0f, wl), L32), lo32), span32) : 0.0f;
      out[k] = add_rn(div_rn(mul_rn(sub_rn(1.0f, sigma), tl), s32), mul_rn(sigma, tl));
    }
  }

  double attention_factor(const rope_dims& = {}) const noexcept { return 1.0; }

  /// llama.cpp's rope_freqs: per-pair divisors c_k = θ_k / θ'_k (1, s, or 1/((1 − σ)/s + σ)).
  void divisors(const rope_dims& d, double* out) const noexcept {
    inv_freq(d, out);
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = static_cast<double>(detail::inv_freq_ld(d.base, d.rotary_dim, k) / out[k]);
  }
};

}  // namespace posenc

#endif  // POSENC_SCALING_LLAMA3_HPP
