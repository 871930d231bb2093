// posenc — generic per-pair frequency divisors (llama.cpp rope_freqs / ggml's `c` tensor).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_FREQ_FACTORS_HPP
#define POSENC_SCALING_FREQ_FACTORS_HPP

#include <cstddef>
#include <optional>
#include <vector>

#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"

namespace posenc {

/**
 * Per-pair frequency divisors: any scheme that rescales each pair independently.
 *
 * Formula: θ'_k = θ_k / c_k (r/2 divisors), cos and sin multiplied by attention_factor.
 * Reference: ggml `ggml_rope_ext(..., c, ...)` ("each θ is divided by c[k]"); llama.cpp fills
 *   it from GGUF `rope_freqs` (Llama-3.1, baked by convert_hf_to_gguf.py) or the LongRoPE
 *   lists. Expresses linear (all c = s), Llama-3 (llama3_scaling::divisors), LongRoPE and vLLM's
 *   "ntk" (base·s with all c = s^(2/r)).
 * Numerics: exact mode RN64(θ_k / c_k) from long double. hf_f32 mode (HF has no such type):
 *   HF-style float32, RN32(θ_k^f32 / RN32(c_k)). ggml divides the float32 angle instead
 *   (p·θ_k/c_k in its theta recurrence): not bit-reproduced.
 *
 * Example:
 *     posenc::freq_factors_scaling ff{std::vector<double>(64, 4.0)};   // = linear_scaling{4}
 *     posenc::rope rope({128}, ff);
 */
struct freq_factors_scaling {
  std::vector<double> divisors;  ///< c_k > 0, r/2 entries
  /// multiplies cos and sin (> 0); unset: 1. (The same name as yarn_scaling's and longrope's.)
  std::optional<double> explicit_attention_factor = std::nullopt;

  const char* name() const noexcept { return "freq_factors"; }

  /// Throws std::invalid_argument naming the field: wrong list size, an entry ≤ 0 or
  /// non-finite, explicit_attention_factor ≤ 0 or non-finite.
  void validate(const rope_dims& d) const {
    constexpr const char* who = "posenc::freq_factors_scaling";
    detail::check_pair_list(who, "divisors", divisors, d);
    if (explicit_attention_factor)
      detail::check_positive_f32(who, "explicit_attention_factor", *explicit_attention_factor);
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = static_cast<double>(detail::inv_freq_ld(d.base, d.rotary_dim, k) /
                                   static_cast<long double>(divisors[k]));
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] =
          detail::div_rn(hf_inv_freq_f32(d.base, d.rotary_dim, k), static_cast<float>(divisors[k]));
  }

  double attention_factor(const rope_dims& = {}) const noexcept {
    return explicit_attention_factor.value_or(1.0);
  }
};

}  // namespace posenc

#endif  // POSENC_SCALING_FREQ_FACTORS_HPP
