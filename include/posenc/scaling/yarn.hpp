// posenc — YaRN RoPE scaling: per-pair blend of interpolation and extrapolation plus an
// attention factor (HF transformers semantics, and a named llama.cpp-compatible variant).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_YARN_HPP
#define POSENC_SCALING_YARN_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>

#include "posenc/detail/error.hpp"
#include "posenc/detail/fp_barrier.hpp"
#include "posenc/detail/scaling_common.hpp"
#include "posenc/frequency.hpp"

namespace posenc {

/// Which implementation's YaRN rules apply (see yarn_scaling).
enum class yarn_variant {
  hf,        ///< HF transformers (and vLLM today): the default
  llama_cpp  ///< llama.cpp / ggml: always truncates, ignores mscale, float32 correction dims
};

/// YaRN's magnitude rule: 1 if s ≤ 1, else 0.1·m·ln(s) + 1 (HF/vLLM `get_mscale`).
inline double yarn_get_mscale(double scale, double m = 1.0) noexcept {
  if (!(scale > 1.0)) return 1.0;
  return static_cast<double>(
      0.1L * static_cast<long double>(m) * std::log(static_cast<long double>(scale)) + 1.0L);
}

/**
 * YaRN ("NTK-by-parts" interpolation + attention temperature).
 *
 * Formula (HF transformers `_compute_yarn_parameters`; r = rotary_dim, L = original length):
 *     corr(n)     = r · ln(L / (2π·n)) / (2·ln base)          (the pair index that turns n times in L)
 *     [low, high] = [corr(beta_fast), corr(beta_slow)]; if truncate: [floor(low), ceil(high)];
 *                   then low = max(low, 0), high = min(high, r − 1)   (sic: r − 1, not r/2 − 1)
 *     if low == high: high += 0.001
 *     γ_k         = clamp((k − low) / (high − low), 0, 1)
 *     θ'_k        = θ_k · (1 − γ_k) + (θ_k / s) · γ_k
 *   so pairs k ≤ low keep θ_k (extrapolation), pairs k ≥ high get θ_k/s (interpolation).
 *   Attention factor (multiplies cos and sin, so q·k logits scale by its square), HF's rules:
 *     1. explicit_attention_factor if given (HF key `attention_factor`);
 *     2. else if mscale and mscale_all_dim are both given and non-zero:
 *        get_mscale(s, mscale) / get_mscale(s, mscale_all_dim)   (DeepSeek-V2/V3: equal → 1.0;
 *        their softmax correction get_mscale(s, mscale_all_dim)² lives in the attention module,
 *        see softmax_scale_multiplier());
 *     3. else get_mscale(s) = 0.1·ln s + 1  (mscale alone is ignored, as in HF).
 * Reference: Peng, Quesnelle, Fan, Shippole 2023, "YaRN: Efficient Context Window Extension of
 *   Large Language Models", arXiv 2309.00071, and the jquesnelle/yarn code HF copies (the ramp
 *   is linear in the pair index, the bounds are floored/ceiled and clamped as above).
 * Defaults (HF): beta_fast 32, beta_slow 1, truncate true; GPT-OSS needs truncate = false.
 * Differences:
 *   - vLLM today: same as HF (explicit attention_factor, mscale ratio and truncate were added
 *     in PRs #46280/#48351, #48623, #28244; older vLLM ignored them).
 *   - llama.cpp (variant = yarn_variant::llama_cpp): correction dims in float32 (logf) and
 *     ALWAYS floor/ceil (truncate is ignored: GPT-OSS differs by O(1) at long positions); the
 *     ramp divides by max(0.001, high − low); mscale is ignored (taken as 1): attention =
 *     get_mscale(s)/get_mscale(s, mscale_all_dim) if mscale_all_dim ≠ 0 else get_mscale(s), then
 *     MULTIPLIED by explicit_attention_factor if given (GGUF rope.scaling.attn_factor; HF's replaces).
 *     Not reproduced: ggml's float32 theta recurrence and blend of angles (both equal in exact
 *     math), and its ext_factor < 1 blends.
 *   - HF ≤ v4.4x used max_position_embeddings for the correction range (issue #33783), and an
 *     intermediate version ignored `factor` when original_max_position_embeddings was present
 *     (issue #38224): build those with the parameters they effectively used.
 * Numerics: exact mode computes the bounds, ramp and blend in long double and rounds θ'_k once.
 *   hf_f32 mode is HF bit for bit: bounds in Python double (std::log, as math.log), then float32
 *   tensors: pf = powf(RN32(base), e_k), extrapolation RN32(1/pf), interpolation
 *   RN32(1/RN32(RN32(s)·pf)), ramp RN32(RN32(k − RN32(low)) / RN32(high − low)) clamped,
 *   ef = RN32(1 − ramp), θ' = RN32(RN32(interp·RN32(1 − ef)) + RN32(extrap·ef)).
 *
 * Example (Qwen2.5 with YaRN, factor 4 over 32768 tokens):
 *     posenc::yarn_scaling yarn{4.0, 32768};  // factor, original_max_position
 *     posenc::rope rope({128, 0, 1e6}, yarn);  // attention_factor() 1.1386
 */
struct yarn_scaling {
  double factor = 1.0;                    ///< s ≥ 1
  std::size_t original_max_position = 0;  ///< L: the pre-training context length
  double beta_fast = 32.0;                ///< rotations bounding extrapolation (> beta_slow)
  double beta_slow = 1.0;                 ///< rotations bounding interpolation (> 0)
  bool truncate = true;  ///< floor/ceil the correction range (HF; ignored by llama_cpp)
  /// HF `attention_factor`: replaces the default (hf); GGUF attn_factor: multiplies it (llama_cpp).
  std::optional<double> explicit_attention_factor = std::nullopt;
  std::optional<double> mscale =
      std::nullopt;  ///< DeepSeek numerator (used with mscale_all_dim only)
  std::optional<double> mscale_all_dim = std::nullopt;  ///< DeepSeek denominator
  yarn_variant variant = yarn_variant::hf;

  /// The correction range after truncation and clamping (before the low == high guard).
  struct range {
    double low = 0.0;
    double high = 0.0;
  };

  const char* name() const noexcept {
    return with_rules([](auto rules) { return decltype(rules)::name; });
  }

  /// Throws std::invalid_argument naming the field: factor < 1 or non-finite,
  /// original_max_position = 0, beta_slow ≤ 0, beta_fast ≤ beta_slow, non-finite betas,
  /// explicit_attention_factor ≤ 0, negative or non-finite mscale / mscale_all_dim, unknown variant.
  void validate(const rope_dims& d) const {
    constexpr const char* who = "posenc::yarn_scaling";
    detail::check_factor(who, "factor", factor);
    detail::check_length(who, "original_max_position", original_max_position);
    detail::check_positive(who, "beta_slow", beta_slow);
    detail::check_positive(who, "beta_fast", beta_fast);
    if (!(beta_fast > beta_slow))
      detail::invalid(who, "beta_fast", beta_fast, "must be > beta_slow");
    if (explicit_attention_factor)
      detail::check_positive_f32(who, "explicit_attention_factor", *explicit_attention_factor);
    if (mscale) detail::check_non_negative(who, "mscale", *mscale);
    if (mscale_all_dim) detail::check_non_negative(who, "mscale_all_dim", *mscale_all_dim);
    if (variant != yarn_variant::hf && variant != yarn_variant::llama_cpp)
      detail::invalid(who, "variant", static_cast<int>(variant), "is not a yarn_variant");
    if (mscale && mscale_all_dim) {  // their ratio is the attention factor: finite in float?
      const double a = attention_factor(d);
      const float af = static_cast<float>(a);
      if (!detail::is_finite_bits(a) || !(a > 0.0) || !detail::is_finite_bits(af) || !(af > 0.0f))
        detail::invalid(
            who, "mscale", *mscale,
            ("with mscale_all_dim = " + detail::show(*mscale_all_dim) + " gives attention factor " +
             detail::show(a) + ", not finite and > 0 in float")
                .c_str());
    }
    if (d.rotary_dim != 0) detail::check_scaled_freqs(who, "factor", factor, *this, d);
  }

  /// The unrounded correction dimension of n rotations (exact, long double → double).
  double correction_dim(const rope_dims& d, double n) const noexcept {
    return static_cast<double>(corr_ld(d, n));
  }

  /// [low, high] as the exact mode uses them (llama_cpp: ggml's float32 dims).
  range correction_range(const rope_dims& d) const noexcept {
    return with_rules([&](auto rules) {
      const range_ld r = rules.range_exact(*this, d);
      return range{static_cast<double>(r.low), static_cast<double>(r.high)};
    });
  }

  /// γ_k ∈ [0, 1]: 0 keeps θ_k, 1 gives θ_k / s (exact mode).
  double ramp(const rope_dims& d, std::size_t k) const noexcept {
    return static_cast<double>(with_rules([&](auto rules) { return ramp_ld(rules, d, k); }));
  }

  /// 1 − γ_k (1 − 1/s), the exact mode's multiplier of θ_k, in long double (for policies that
  /// compose YaRN with other per-pair changes, e.g. yarn_freq_factors_scaling).
  long double multiplier_ld(const rope_dims& d, std::size_t k) const noexcept {
    const long double g = with_rules([&](auto rules) { return ramp_ld(rules, d, k); });
    return 1.0L - g * (1.0L - 1.0L / static_cast<long double>(factor));
  }

  void inv_freq(const rope_dims& d, double* out) const noexcept {
    with_rules([&](auto rules) { inv_freq_exact(rules, d, out); });
  }

  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    with_rules([&](auto rules) { inv_freq_hf_f32(rules, d, out); });
  }

  /// The magnitude multiplying cos and sin (see the rules above).
  double attention_factor(const rope_dims& = {}) const noexcept {
    return with_rules([this](auto rules) { return rules.attention_factor(*this); });
  }

  /// DeepSeek-V2/V3's softmax-scale multiplier get_mscale(s, mscale_all_dim)² (1 without
  /// mscale_all_dim): applied by their attention module on top of 1/sqrt(head_dim), not by RoPE.
  double softmax_scale_multiplier() const noexcept {
    if (!mscale_all_dim || *mscale_all_dim == 0.0) return 1.0;
    const double m = yarn_get_mscale(factor, *mscale_all_dim);
    return m * m;
  }

 private:
  struct range_ld {
    long double low = 0.0L;
    long double high = 0.0L;
  };

  // The rules that differ between the implementations, one type per yarn_variant: the public
  // members test `variant` once (with_rules) and run the shared code below with these.
  struct hf_rules {  // HF transformers `_compute_yarn_parameters`
    static constexpr const char* name = "yarn";
    static range_ld range_exact(const yarn_scaling& y, const rope_dims& d) noexcept {
      long double lo = y.corr_ld(d, y.beta_fast), hi = y.corr_ld(d, y.beta_slow);
      if (y.truncate) {
        lo = std::floor(lo);
        hi = std::ceil(hi);
      }
      return clamp_range(d, lo, hi);
    }
    // Python double, in HF's order of operations.
    static range_ld range_f32(const yarn_scaling& y, const rope_dims& d) noexcept {
      double lo = y.corr_py(d, y.beta_fast), hi = y.corr_py(d, y.beta_slow);
      if (y.truncate) {
        lo = std::floor(lo);
        hi = std::ceil(hi);
      }
      return clamp_range(d, lo, hi);
    }
    // The ramp's divisor: high += 0.001 if equal (Python double in hf_f32 mode).
    static double width_py(double lo, double hi) noexcept {
      return lo == hi ? (hi + 0.001) - lo : hi - lo;
    }
    static long double width_ld(long double lo, long double hi) noexcept {
      return lo == hi ? 0.001L : hi - lo;
    }
    static double attention_factor(const yarn_scaling& y) noexcept {
      if (y.explicit_attention_factor) return *y.explicit_attention_factor;
      if (y.mscale && y.mscale_all_dim && *y.mscale != 0.0 && *y.mscale_all_dim != 0.0)
        return y.ratio(*y.mscale, *y.mscale_all_dim);
      return yarn_get_mscale(y.factor);
    }
  };
  struct llama_cpp_rules {  // ggml `ggml_rope_yarn_corr_dims`, llama.cpp's attn_factor
    static constexpr const char* name = "yarn_llama_cpp";
    // n_dims * logf(n_ctx_orig / (n_rot * 2 * (float)M_PI)) / (2 * logf(base)), floor/ceil.
    static range_ld range_exact(const yarn_scaling& y, const rope_dims& d) noexcept {
      const float r = static_cast<float>(d.rotary_dim);
      const float L = static_cast<float>(y.original_max_position);
      const float lb = 2.0f * std::log(static_cast<float>(d.base));
      const float two_pi32 = static_cast<float>(two_pi);  // 2 · (float)M_PI, exactly
      const float lo = r * std::log(L / (static_cast<float>(y.beta_fast) * two_pi32)) / lb;
      const float hi = r * std::log(L / (static_cast<float>(y.beta_slow) * two_pi32)) / lb;
      return clamp_range(d, std::floor(static_cast<long double>(lo)),
                         std::ceil(static_cast<long double>(hi)));
    }
    static range_ld range_f32(const yarn_scaling& y, const rope_dims& d) noexcept {
      return range_exact(y, d);
    }
    // The ramp's divisor: max(0.001, high − low).
    static double width_py(double lo, double hi) noexcept { return std::max(0.001, hi - lo); }
    static long double width_ld(long double lo, long double hi) noexcept {
      return std::max(0.001L, hi - lo);
    }
    static double attention_factor(const yarn_scaling& y) noexcept {
      const double m = (y.mscale_all_dim && *y.mscale_all_dim != 0.0)
                           ? y.ratio(1.0, *y.mscale_all_dim)
                           : yarn_get_mscale(y.factor);
      return y.explicit_attention_factor ? m * *y.explicit_attention_factor : m;
    }
  };
  // Calls f(hf_rules{}) or f(llama_cpp_rules{}): the one test of `variant`.
  template <class F>
  auto with_rules(F&& f) const noexcept -> decltype(f(hf_rules{})) {
    return variant == yarn_variant::llama_cpp ? f(llama_cpp_rules{}) : f(hf_rules{});
  }

  template <class Rules>
  void inv_freq_exact(Rules rules, const rope_dims& d, double* out) const noexcept {
    const range_ld rg = rules.range_exact(*this, d);
    const long double width = rules.width_ld(rg.low, rg.high);
    const long double inv_s = 1.0L / static_cast<long double>(factor);
    for (std::size_t k = 0; k < d.pairs(); ++k) {
      const long double g = ramp_ld(rg, width, k);
      // (1 − γ) + γ/s written as 1 − γ(1 − 1/s): s = 1 multiplies by exactly 1.
      const long double m = 1.0L - g * (1.0L - inv_s);
      out[k] = static_cast<double>(detail::inv_freq_ld(d.base, d.rotary_dim, k) * m);
    }
  }

  template <class Rules>
  void inv_freq_hf_f32(Rules rules, const rope_dims& d, float* out) const noexcept {
    const range_ld rg = rules.range_f32(*this, d);
    const float lo32 = static_cast<float>(rg.low);
    const float width32 = static_cast<float>(
        rules.width_py(static_cast<double>(rg.low), static_cast<double>(rg.high)));
    const float s32 = static_cast<float>(factor);
    for (std::size_t k = 0; k < d.pairs(); ++k) {
      const float pf = detail::hf_pos_freq_f32(d.base, d.rotary_dim, k);
      // Every operation rounded once in HF's order (no FMA, reciprocal or reassociation).
      const float extrap = detail::div_rn(1.0f, pf);
      const float interp = detail::div_rn(1.0f, detail::mul_rn(s32, pf));
      const float lin = detail::div_rn(detail::sub_rn(static_cast<float>(k), lo32), width32);
      const float ramp = std::min(std::max(lin, 0.0f), 1.0f);
      const float ef = detail::sub_rn(1.0f, ramp);
      const float a = detail::mul_rn(interp, detail::sub_rn(1.0f, ef));
      const float b = detail::mul_rn(extrap, ef);
      out[k] = detail::add_rn(a, b);
    }
  }

  long double corr_ld(const rope_dims& d, double n) const noexcept {
    const long double r = static_cast<long double>(d.rotary_dim);
    const long double L = static_cast<long double>(original_max_position);
    return r * std::log(L / (static_cast<long double>(n) * detail::two_pi_ld)) /
           (2.0L * std::log(static_cast<long double>(d.base)));
  }
  // HF: (dim * math.log(max_pos / (num_rot * 2 * math.pi))) / (2 * math.log(base))
  double corr_py(const rope_dims& d, double n) const noexcept {
    const double r = static_cast<double>(d.rotary_dim);
    const double L = static_cast<double>(original_max_position);
    return (r * std::log(L / (n * two_pi))) / (2.0 * std::log(d.base));  // (n·2)·π = n·(2π)
  }
  static range_ld clamp_range(const rope_dims& d, long double lo, long double hi) noexcept {
    return range_ld{std::max(lo, 0.0L),
                    std::min(hi, static_cast<long double>(d.rotary_dim) - 1.0L)};
  }
  static long double ramp_ld(const range_ld& rg, long double width, std::size_t k) noexcept {
    const long double x = (static_cast<long double>(k) - rg.low) / width;
    return std::min(std::max(x, 0.0L), 1.0L);
  }
  template <class Rules>
  long double ramp_ld(Rules rules, const rope_dims& d, std::size_t k) const noexcept {
    const range_ld rg = rules.range_exact(*this, d);
    return ramp_ld(rg, rules.width_ld(rg.low, rg.high), k);
  }
  double ratio(double m_num, double m_den) const noexcept {
    if (!(factor > 1.0)) return 1.0;
    const long double ls = std::log(static_cast<long double>(factor));
    return static_cast<double>((0.1L * m_num * ls + 1.0L) / (0.1L * m_den * ls + 1.0L));
  }
};

}  // namespace posenc

#endif  // POSENC_SCALING_YARN_HPP
