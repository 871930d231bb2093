// posenc — linear RoPE scaling (Position Interpolation): every frequency divided by the factor.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_LINEAR_HPP
#define POSENC_SCALING_LINEAR_HPP

#include <cstddef>

#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"

namespace posenc {

/**
 * Linear scaling / Position Interpolation: a model trained on L tokens reads positions p·L/L'.
 *
 * Formula: θ'_k = θ_k / s, θ_k = base^(−2k/r); attention factor 1.
 * Reference: Chen et al. 2023, "Extending Context Window of Large Language Models via
 *   Positional Interpolation", arXiv 2306.15595 (kaiokendev's SuperHOT, same idea).
 * HF transformers rope_type "linear" (`inv_freq /= factor`).
 * Differences: vLLM divides the positions instead (`t / s` before the outer product), ggml uses
 *   freq_scale = 1/s on the angle; equal in exact math, different float32 rounding. vLLM's list
 *   of factors (multi-LoRA offsets) is one rope per factor here.
 * Numerics: exact mode rounds θ_k/s once from long double; hf_f32 mode is HF bit for bit:
 *   RN32(θ_k^f32 / RN32(s)).
 *
 * Example:
 *     posenc::rope rope({128}, posenc::linear_scaling{4.0});  // vicuna-7b-v1.5-16k
 */
struct linear_scaling {
  double factor = 1.0;  ///< s ≥ 1: the context is stretched s times

  const char* name() const noexcept { return "linear"; }

  /// Throws std::invalid_argument unless factor is finite and ≥ 1.
  void validate(const rope_dims& d) const {
    detail::check_factor("posenc::linear_scaling", "factor", factor);
    detail::check_scaled_freqs("posenc::linear_scaling", "factor", factor, *this, d);
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    const long double s = factor;
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = static_cast<double>(detail::inv_freq_ld(d.base, d.rotary_dim, k) / s);
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    const float s = static_cast<float>(factor);
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = detail::div_rn(hf_inv_freq_f32(d.base, d.rotary_dim, k), s);
  }

  double attention_factor(const rope_dims&) const noexcept { return 1.0; }
};

}  // namespace posenc

#endif  // POSENC_SCALING_LINEAR_HPP
