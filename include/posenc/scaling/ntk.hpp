// posenc — NTK-aware RoPE scaling: static (base·α^(r/(r−2))) and dynamic (α from a length).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_NTK_HPP
#define POSENC_SCALING_NTK_HPP

#include <cmath>
#include <cstddef>

#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"

namespace posenc {

namespace detail {
/// θ_k of the base b·α^(r/(r−2)) in long double: b^(−2k/r) · α^(−2k/(r−2)) (the two powers
/// are taken separately so that α = 1 gives exactly the unscaled ladder).
inline long double ntk_inv_freq_ld(double base, long double alpha, std::size_t r,
                                   std::size_t k) noexcept {
  const long double e = -static_cast<long double>(2 * k) / static_cast<long double>(r - 2);
  return inv_freq_ld(base, r, k) * std::pow(alpha, e);
}
}  // namespace detail

/**
 * Static NTK-aware scaling: a larger base, so the highest frequency is kept and the lowest is
 * divided by exactly α.
 *
 * Formula: base' = base · α^(r/(r−2)),  θ'_k = base'^(−2k/r) = θ_k · α^(−2k/(r−2));
 *   attention factor 1. Needs r > 2.
 * Reference: bloc97, "NTK-Aware Scaled RoPE", r/LocalLLaMA, June 2023.
 * HF transformers has no such rope_type (it is "set rope_theta to base'"); hf_f32 mode is
 *   therefore HF's default ladder for base' = base·α^(r/(r−2)) computed in double, which is
 *   also vLLM's `dynamic` + `alpha` (Hunyuan, DynamicNTKAlphaRotaryEmbedding).
 * Differences: vLLM's rope_type "ntk" is another formula, inv = default_inv(base·s) / s^(2/r)
 *   (optionally mixed_b): build it as a rope_config with base = base·s and freq_factors_scaling
 *   {divisors all s^(2/r)}. llama.cpp: override freq_base with base'.
 *
 * Example:
 *     posenc::rope rope({128}, posenc::ntk_scaling{2.0});  // base 10000 → 20221.3
 */
struct ntk_scaling {
  double alpha = 1.0;  ///< α ≥ 1: the lowest frequency is divided by α

  const char* name() const noexcept { return "ntk"; }

  /// Throws std::invalid_argument unless alpha is finite and ≥ 1 and rotary_dim > 2.
  void validate(const rope_dims& d) const {
    detail::check_factor("posenc::ntk_scaling", "alpha", alpha);
    if (d.rotary_dim <= 2)
      detail::invalid("posenc::ntk_scaling", "rotary_dim", d.rotary_dim,
                      "must be > 2 (the NTK exponent is r/(r-2))");
    detail::check_scaled_freqs("posenc::ntk_scaling", "alpha", alpha, *this, d);
  }

  /// base' = base · α^(r/(r−2)).
  double scaled_base(const rope_dims& d) const noexcept {
    const long double r = static_cast<long double>(d.rotary_dim);
    return static_cast<double>(static_cast<long double>(d.base) *
                               std::pow(static_cast<long double>(alpha), r / (r - 2)));
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = static_cast<double>(detail::ntk_inv_freq_ld(d.base, alpha, d.rotary_dim, k));
  }

  /// HF's default float32 ladder of base' (base' in double, as Python computes it).
  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    const double r = static_cast<double>(d.rotary_dim);
    const double b = d.base * std::pow(alpha, r / (r - 2.0));
    for (std::size_t k = 0; k < d.pairs(); ++k) out[k] = hf_inv_freq_f32(b, d.rotary_dim, k);
  }

  double attention_factor(const rope_dims&) const noexcept { return 1.0; }
};

/**
 * Dynamic NTK scaling: the NTK base chosen from a sequence length L.
 *
 * Formula: with s = factor and L0 = original_max_position,
 *     L_eff = max(L, L0),  α = s·L_eff/L0 − (s − 1),  base' = base · α^(r/(r−2)),
 *     θ'_k = θ_k · α^(−2k/(r−2));  attention factor 1.
 *   Below L0 this is plain RoPE. Note that s = 1 is plain RoPE only up to L0: beyond, α = L/L0.
 * Reference: emozilla, "Dynamically Scaled RoPE", r/LocalLLaMA, June 2023; HF transformers
 *   rope_type "dynamic" (`_compute_dynamic_ntk_parameters`, L0 = config.max_position_embeddings).
 *
 * No hidden state: the length is an explicit input, and it selects one of two behaviours.
 *   - current_length (HF): L is the length of the sequence being processed (HF uses
 *     max(position_ids) + 1 and recomputes on every forward beyond L0). The base then changes
 *     as the sequence grows, so the KEYS ALREADY IN A KV CACHE were rotated under an older base
 *     than the new queries (HF issue #25104; HF does not re-rotate them). To keep q·k relative,
 *     re-rotate cached keys: old_rope.apply_inverse(k, pos) then new_rope.apply(k, pos).
 *     0 means "not known yet" (HF's init state): L = L0, plain RoPE.
 *   - served_length (vLLM today): the base is fixed once at the served maximum length
 *     (vLLM's max_position_embeddings after PR #41277), so cached keys and new queries always
 *     agree, at the price of scaling short prompts too.
 *   Set at most one of the two.
 * Differences: vLLM does not clamp L to ≥ L0 (a served length below L0 gives a negative α,
 *   vLLM issue #52665); here L_eff ≥ L0 always. Older vLLM (≤ PR #41277) froze α = s² − s + 1,
 *   i.e. served_length = s·L0. vLLM's encoder-only class (per packed length, no KV cache) is
 *   current_length. llama.cpp has no dynamic NTK.
 * Numerics: exact mode in long double, one rounding. hf_f32 mode follows HF bit for bit:
 *   beyond L0 with current_length, HF evaluates α and base' in float32 tensor arithmetic
 *   (`factor * seq_len` with an int64 tensor seq_len):
 *       t = RN32(RN32(RN32(RN32(s)·RN32(L)) / RN32(L0)) − RN32(s − 1)),
 *       base'_f32 = RN32(RN32(base) · RN32(pow_double(t, r/(r−2)))),  θ = RN32(1 / powf(base'_f32, e_k)).
 *   Otherwise (HF at init, or vLLM's served length) base' is a Python double and θ is HF's
 *   default float32 ladder of it.
 *
 * Example:
 *     posenc::dynamic_ntk_scaling dyn{2.0, 4096, 6000};  // factor, L0, current length
 *     posenc::rope rope({128}, dyn);  // rebuild when the sequence grows
 */
struct dynamic_ntk_scaling {
  double factor = 1.0;                    ///< s ≥ 1
  std::size_t original_max_position = 0;  ///< L0 (HF: config.max_position_embeddings)
  std::size_t current_length = 0;  ///< HF behaviour: length being processed (0: L0, plain RoPE)
  std::size_t served_length = 0;   ///< vLLM behaviour: fixed served maximum (0: unused)

  const char* name() const noexcept { return "dynamic"; }

  /// Throws std::invalid_argument for factor < 1 or non-finite, original_max_position = 0,
  /// rotary_dim ≤ 2, or both lengths set.
  void validate(const rope_dims& d) const {
    constexpr const char* who = "posenc::dynamic_ntk_scaling";
    detail::check_factor(who, "factor", factor);
    detail::check_length(who, "original_max_position", original_max_position);
    detail::check_length_choice(who, current_length, served_length);
    if (d.rotary_dim <= 2)
      detail::invalid(who, "rotary_dim", d.rotary_dim, "must be > 2 (the NTK exponent is r/(r-2))");
    detail::check_scaled_freqs(who, "factor", factor, *this, d);
  }

  /// The length whose base is used: max(served_length or current_length, L0) (see
  /// detail::effective_length).
  std::size_t effective_length() const noexcept {
    return detail::effective_length(current_length, served_length, original_max_position);
  }

  /// α = s·L_eff/L0 − (s − 1), written 1 + s·(L_eff − L0)/L0 so that L_eff = L0 gives 1 exactly.
  double alpha() const noexcept { return static_cast<double>(alpha_ld()); }

  /// base' = base · α^(r/(r−2)) (exact; hf_f32 mode may differ in the last float bits).
  double scaled_base(const rope_dims& d) const noexcept {
    const long double r = static_cast<long double>(d.rotary_dim);
    return static_cast<double>(static_cast<long double>(d.base) *
                               std::pow(alpha_ld(), r / (r - 2)));
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    const long double a = alpha_ld();
    for (std::size_t k = 0; k < d.pairs(); ++k)
      out[k] = static_cast<double>(detail::ntk_inv_freq_ld(d.base, a, d.rotary_dim, k));
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    const std::size_t L = effective_length();
    const double r = static_cast<double>(d.rotary_dim);
    if (served_length == 0 && L > original_max_position) {
      // HF forward beyond L0: float32 tensor arithmetic on the int64 length.
      const float t1 = static_cast<float>(factor) * static_cast<float>(L);
      const float t2 = t1 / static_cast<float>(original_max_position);
      const float t3 = t2 - static_cast<float>(factor - 1.0);
      // torch's pow(float tensor, python float) on one element: std::pow(float, double).
      const float t4 = static_cast<float>(std::pow(static_cast<double>(t3), r / (r - 2.0)));
      const float b32 = static_cast<float>(d.base) * t4;
      for (std::size_t k = 0; k < d.pairs(); ++k)
        out[k] = detail::div_rn(1.0f,
                                detail::powf_scalar(b32, detail::hf_exponent_f32(d.rotary_dim, k)));
      return;
    }
    // Python double: HF at init (seq_len = L0) and vLLM's static base.
    const double Ld = static_cast<double>(L);
    const double L0 = static_cast<double>(original_max_position);
    const double b = d.base * std::pow((factor * Ld / L0) - (factor - 1.0), r / (r - 2.0));
    for (std::size_t k = 0; k < d.pairs(); ++k) out[k] = hf_inv_freq_f32(b, d.rotary_dim, k);
  }

  double attention_factor(const rope_dims&) const noexcept { return 1.0; }

 private:
  long double alpha_ld() const noexcept {
    const std::size_t L = effective_length();
    if (L <= original_max_position) return 1.0L;
    return 1.0L + static_cast<long double>(factor) *
                      static_cast<long double>(L - original_max_position) /
                      static_cast<long double>(original_max_position);
  }
};

}  // namespace posenc

#endif  // POSENC_SCALING_NTK_HPP
