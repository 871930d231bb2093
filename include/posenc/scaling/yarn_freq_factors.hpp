// posenc — YaRN over per-pair frequency divisors: ggml's rope with both a `c` tensor
// (rope_freqs) and YaRN parameters, as one policy.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_YARN_FREQ_FACTORS_HPP
#define POSENC_SCALING_YARN_FREQ_FACTORS_HPP

#include <cstddef>
#include <vector>

#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"
#include "posenc/scaling/yarn.hpp"

namespace posenc {

/**
 * YaRN applied to frequencies first divided per pair: θ'_k = (θ_k / c_k) · (1 − γ_k (1 − 1/s)),
 * cos and sin multiplied by YaRN's attention factor.
 *
 * Formula: γ_k, s and the attention factor are yarn_scaling's (the correction range is computed
 *   from the base, not from the divided frequencies; the divisors do not change the magnitude).
 * Reference: ggml `ggml_rope_ext(ctx, a, b, c, ...)` with both c (freq_factors) and YaRN
 *   parameters: `ggml_rope_cache_init` passes theta_extrap = p·θ_k / c_k to `rope_yarn`, which
 *   blends it with freq_scale · theta_extrap by the ramp over `ggml_rope_yarn_corr_dims` and
 *   multiplies the magnitude by 1 + 0.1·ln(1/freq_scale) (times attn_factor). llama.cpp passes
 *   both for models whose GGUF has rope_freqs and a YaRN context extension.
 * Numerics: exact mode computes (θ_k / c_k)·(1 − γ_k (1 − 1/s)) in long double and rounds it
 *   once (so all c_k = 1 gives yarn_scaling's table and s = 1 freq_factors_scaling's, bit for
 *   bit). hf_f32 mode: RN32(θ'^f32_k / RN32(c_k)) from yarn_scaling::inv_freq_f32 (HF has no
 *   such type; ggml's float32 theta recurrence and angle blend are not bit-reproduced, as for
 *   freq_factors_scaling).
 *
 * Example (divisors from a GGUF's rope_freqs, YaRN 4x over 32768 tokens):
 *     posenc::yarn_freq_factors_scaling p{yarn, divisors};
 *     posenc::rope_config cfg;
 *     cfg.head_dim = 128;
 *     cfg.base = 1e6;
 *     posenc::rope rope(cfg, p);
 */
struct yarn_freq_factors_scaling {
  yarn_scaling yarn;             ///< factor, original length, betas, attention factor rules
  std::vector<double> divisors;  ///< c_k > 0, r/2 entries (ggml's c / GGUF rope_freqs)

  const char* name() const noexcept {
    return yarn.variant == yarn_variant::llama_cpp ? "yarn_llama_cpp_freq_factors"
                                                   : "yarn_freq_factors";
  }

  /// Throws std::invalid_argument naming the field: every yarn_scaling error (reported by
  /// yarn_scaling), a wrong divisors size, an entry ≤ 0 or non-finite, or a combination that
  /// makes a frequency not finite and > 0 (reported as yarn.factor).
  void validate(const rope_dims& d) const {
    constexpr const char* who = "posenc::yarn_freq_factors_scaling";
    yarn.validate(d);
    detail::check_pair_list(who, "divisors", divisors, d);
    if (d.rotary_dim != 0) detail::check_scaled_freqs(who, "yarn.factor", yarn.factor, *this, d);
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    for (std::size_t k = 0; k < d.pairs(); ++k)  // as yarn_scaling's, with θ_k / c_k
      out[k] =
          static_cast<double>(detail::inv_freq_ld(d.base, d.rotary_dim, k) /
                              static_cast<long double>(divisors[k]) * yarn.multiplier_ld(d, k));
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    yarn.inv_freq_f32(d, out);
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = detail::div_rn(out[k], static_cast<float>(divisors[k]));
  }

  double attention_factor(const rope_dims& d = {}) const noexcept {
    return yarn.attention_factor(d);
  }
};

}  // namespace posenc

#endif  // POSENC_SCALING_YARN_FREQ_FACTORS_HPP
