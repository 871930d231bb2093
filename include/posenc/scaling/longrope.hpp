// posenc — LongRoPE scaling (Phi-3 "su"/longrope): per-pair short and long factors.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_LONGROPE_HPP
#define POSENC_SCALING_LONGROPE_HPP

#include <cmath>
#include <cstddef>
#include <optional>
#include <vector>

#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"

namespace posenc {

/**
 * LongRoPE: every pair's frequency divided by a searched per-pair factor, one list for short
 * contexts and one for long contexts.
 *
 * Formula: with f = long_factor if the selecting length is > original_max_position (strict),
 *   else short_factor (r/2 entries each):
 *     θ'_k = θ_k / f_k
 *   attention factor: explicit_attention_factor if given, else 1 if s ≤ 1, else
 *     sqrt(1 + ln s / ln L0), s = factor (HF: max_position_embeddings / original when absent).
 *   Phi-3-mini-128k: s = 131072/4096 = 32 → 1.1902380714.
 * Reference: Ding et al. 2024, "LongRoPE: Extending LLM Context Window Beyond 2 Million
 *   Tokens", arXiv 2402.13753; HF transformers rope_type "longrope" (legacy "su").
 *
 * Which list applies is an explicit input (no hidden state):
 *   - current_length (HF): the length of the sequence being processed (HF: max(position_ids)
 *     + 1, re-decided every forward). Crossing L0 mid-generation switches every frequency, so
 *     keys cached under the short factors no longer match (HF Phi-3 drops its KV cache at the
 *     switch, PR #33129); re-rotate them (old.apply_inverse, new.apply) or recompute.
 *     0 means "not known" (HF init): short factors.
 *   - served_length (vLLM, llama.cpp): the served maximum (vLLM max_model_len, llama.cpp n_ctx),
 *     decided once, so short prompts also get the long factors when served > L0 (llama.cpp issue
 *     #8995; vLLM PR #27431 made this choice to avoid mid-sequence switches).
 *   Set at most one of the two.
 * Differences: vLLM also reads short_mscale / long_mscale (defaults = the formula above); pass
 *   explicit_attention_factor for those. llama.cpp stores the lists as GGUF rope_factors_short/long
 *   and the attention factor as rope.scaling.attn_factor.
 * Numerics: exact mode uses the factors as given (doubles) in long double, one rounding.
 *   hf_f32 mode is HF bit for bit: RN32(1 / RN32(RN32(f_k) · powf(RN32(base), e_k))).
 *
 * Example (Phi-3-mini-128k, serving 131072 tokens):
 *     posenc::longrope_scaling lr{short_f, long_f, 4096, 32.0};
 *     lr.served_length = 131072;
 *     posenc::rope rope({96}, lr);  // rope_config{head_dim}
 */
struct longrope_scaling {
  std::vector<double> short_factor;       ///< r/2 divisors for lengths ≤ L0
  std::vector<double> long_factor;        ///< r/2 divisors for lengths > L0
  std::size_t original_max_position = 0;  ///< L0
  double factor = 1.0;  ///< s ≥ 1 for the default attention factor (max / original length)
  std::optional<double> explicit_attention_factor =
      std::nullopt;                ///< HF `attention_factor`: replaces the default
  std::size_t current_length = 0;  ///< HF behaviour: length being processed (0: short factors)
  std::size_t served_length = 0;   ///< vLLM / llama.cpp behaviour: fixed served maximum

  const char* name() const noexcept { return "longrope"; }

  /// Throws std::invalid_argument naming the field: a list whose size is not rotary_dim/2 or
  /// with a non-finite or non-positive entry, original_max_position = 0, factor < 1,
  /// explicit_attention_factor ≤ 0, both lengths set.
  void validate(const rope_dims& d) const {
    constexpr const char* who = "posenc::longrope_scaling";
    detail::check_pair_list(who, "short_factor", short_factor, d);
    detail::check_pair_list(who, "long_factor", long_factor, d);
    detail::check_length(who, "original_max_position", original_max_position);
    detail::check_factor(who, "factor", factor);
    if (explicit_attention_factor) {
      detail::check_positive_f32(who, "explicit_attention_factor", *explicit_attention_factor);
    } else if (factor > 1.0 && original_max_position < 2) {
      detail::invalid(who, "original_max_position", original_max_position,
                      "must be >= 2 when factor > 1 and no explicit_attention_factor is given "
                      "(the default attention factor divides by ln original_max_position)");
    }
    detail::check_length_choice(who, current_length, served_length);
  }

  /// The length that selects the list: max(served_length or current_length, L0), as
  /// dynamic_ntk_scaling::effective_length (see detail::effective_length).
  std::size_t effective_length() const noexcept {
    return detail::effective_length(current_length, served_length, original_max_position);
  }

  /// True when the long factors apply: effective_length() > L0.
  bool uses_long() const noexcept { return effective_length() > original_max_position; }

  /// The list in use.
  const std::vector<double>& factors() const noexcept {
    return uses_long() ? long_factor : short_factor;
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    const std::vector<double>& f = factors();
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = static_cast<double>(detail::inv_freq_ld(d.base, d.rotary_dim, k) /
                                   static_cast<long double>(f[k]));
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    const std::vector<double>& f = factors();
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] =
          detail::div_rn(1.0f, detail::mul_rn(static_cast<float>(f[k]),
                                              detail::hf_pos_freq_f32(d.base, d.rotary_dim, k)));
  }

  double attention_factor(const rope_dims& = {}) const noexcept {
    if (explicit_attention_factor) return *explicit_attention_factor;
    if (!(factor > 1.0)) return 1.0;
    const long double q = std::log(static_cast<long double>(factor)) /
                          std::log(static_cast<long double>(original_max_position));
    return static_cast<double>(std::sqrt(1.0L + q));
  }
};

}  // namespace posenc

#endif  // POSENC_SCALING_LONGROPE_HPP
