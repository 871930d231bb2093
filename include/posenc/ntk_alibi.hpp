// posenc — length scaling for ALiBi as slope policies of alibi_bias: NTK-ALiBi (both the
// formula and the public code's variant), inner interpolation m/a, and the dynamic factor.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_NTK_ALIBI_HPP
#define POSENC_NTK_ALIBI_HPP

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "posenc/alibi.hpp"
#include "posenc/detail/error.hpp"

namespace posenc {

namespace detail {
/// The slopes a policy makes for d, each finite and > 0 once rounded to float (the coefficient
/// type of float and 16-bit logits: a slope of 2^997 is finite in double and −inf in every float
/// bias); else names `field` (the parameter that made them so) and the first bad head.
template <class Policy>
void check_float_slopes(const char* who, const char* field, double value, const Policy& p,
                        const alibi_dims& d) {
  std::vector<double> m(d.num_heads);
  p.slopes(d, m.data());
  for (std::size_t h = 0; h < d.num_heads; ++h) {
    const float mf = static_cast<float>(m[h]);
    if (!detail::is_finite_bits(m[h]) || !(m[h] > 0.0) || !detail::is_finite_bits(mf) ||
        !(mf > 0.0f))
      invalid(who, field, value,
              ("makes the slope of head " + std::to_string(h) + " = " + show(m[h]) +
               ", not finite and > 0 in float")
                  .c_str());
  }
}
}  // namespace detail

/**
 * The two published definitions of NTK-ALiBi slopes (keezen/ntk_alibi: its readme's patched BLOOM `build_alibi_tensor` and its formula). With
 * 1-based head h, factor a, max_bias B (8 in the source) and c = 2^floor(log2 H):
 *
 * - code (default): the readme's modified BLOOM `build_alibi_tensor`:
 *       m_h = 2^(−B·h/c) · a^(−(h−1)/(H−1))           h ≤ c
 *       m_h = 2^(−(B/2)·(2k+1)/c),  k = h − c − 1      h > c  (the interleaved extra heads of
 *                                                              standard ALiBi, not rescaled)
 * - formula: the readme's formula, 1/(2^(B·h/H) · a^((h−1)/(H−1))), a geometric base 2^(−B/H)
 *       over all H heads.
 *
 * For power-of-two H the two are identical. They differ a lot for other H (relative
 * differences up to ~5 at H = 12 or 40): the formula starts from the paper *text*'s geometric
 * slopes, which no shipped ALiBi model was trained with (ofirpress `get_slopes` interleaves
 * two power-of-two series for other H), so even a = 1 changes every slope of a 12- or 40-head
 * model. The code variant is the default because at a = 1 it
 * is exactly the standard ALiBi slopes for every H — the slopes the checkpoint was trained with
 * — and it is what the published experiments ran.
 *
 * H = 1: the exponent (h−1)/(H−1) is 0/0 in both sources (a division by zero in the code); the
 * only head is h = 1, whose exponent is 0 for every other H, so posenc uses 0: m = 2^(−B).
 */
enum class ntk_alibi_variant { code, formula };

/**
 * NTK-ALiBi slope policy: high-frequency extrapolation, low-frequency interpolation. Head 1
 * keeps its slope; the last scaled head is divided by a.
 *
 * Computed as one long-double exp2 of −B·h/c − ((h−1)/(H−1))·log2(a), rounded once to double.
 * Reference: keezen/ntk_alibi (readme, 2023); see ntk_alibi_variant.
 *
 * Example:
 *     posenc::alibi_config cfg;
 *     cfg.num_heads = 40;
 *     posenc::ntk_alibi_slopes ntk;
 *     ntk.factor = 4.0;  // L_infer / L_train
 *     posenc::alibi_bias alibi(cfg, ntk);
 */
struct ntk_alibi_slopes {
  double factor = 1.0;  ///< a = L_infer / L_train (static), or dynamic_alibi_factor(...)
  ntk_alibi_variant variant = ntk_alibi_variant::code;

  const char* name() const noexcept {
    return variant == ntk_alibi_variant::code ? "ntk_alibi_code" : "ntk_alibi_formula";
  }
  void validate(const alibi_dims& d) const {
    constexpr const char* who = "posenc::ntk_alibi_slopes";
    if (!detail::is_finite_bits(factor) || !(factor > 0.0))
      detail::invalid(who, "factor", factor, "must be finite and > 0");
    if (variant != ntk_alibi_variant::code && variant != ntk_alibi_variant::formula)
      detail::invalid(who, "variant", static_cast<int>(variant), "is not an ntk_alibi_variant");
    detail::check_float_slopes(who, "factor", factor, *this, d);
  }
  void slopes(const alibi_dims& d, double* out) const noexcept {
    if (variant == ntk_alibi_variant::formula) {
      slopes_with<formula_rule>(d, out);
    } else {
      slopes_with<code_rule>(d, out);
    }
  }

 private:
  // One type per ntk_alibi_variant: the log2 slope of head i (0-based) given the factor's
  // shift ((h−1)/(H−1))·log2(a); b = max_bias, c = the largest power of two ≤ heads.
  struct formula_rule {  // the readme's formula: −B·h/H − shift for every head
    static long double log2_slope(std::size_t i, std::size_t heads, std::size_t, long double b,
                                  double, long double shift) noexcept {
      return -b * static_cast<long double>(i + 1) / static_cast<long double>(heads) - shift;
    }
  };
  struct code_rule {  // the code: −B·h/c − shift for h ≤ c, then plain ALiBi's extra heads
    static long double log2_slope(std::size_t i, std::size_t heads, std::size_t c, long double b,
                                  double max_bias, long double shift) noexcept {
      if (i + 1 <= c)
        return -b * static_cast<long double>(i + 1) / static_cast<long double>(c) - shift;
      return detail::alibi_log2_slope(i, heads, max_bias);
    }
  };
  template <class Rule>
  void slopes_with(const alibi_dims& d, double* out) const noexcept {
    const std::size_t heads = d.num_heads;
    const long double b = static_cast<long double>(d.max_bias);
    const long double log2a = std::log2(static_cast<long double>(factor));
    const std::size_t c = detail::alibi_pow2_floor(heads);
    for (std::size_t i = 0; i < heads; ++i) {
      const std::size_t h = i + 1;  // 1-based, as in the sources
      const long double share =
          heads > 1 ? static_cast<long double>(h - 1) / static_cast<long double>(heads - 1) : 0.0L;
      out[i] = detail::exp2_to_double(Rule::log2_slope(i, heads, c, b, d.max_bias, share * log2a));
    }
  }
};

/**
 * ALiBi inner interpolation (the readme's "内插值"; Al-Khateeb et al. 2023, arXiv 2310.13017):
 * m_h' = m_h / a, the standard slopes divided by a — the same as scaling every position by 1/a.
 * Computed as one long-double exp2 of the standard exponent − log2(a), rounded once.
 */
struct interpolated_alibi_slopes {
  double factor = 1.0;  ///< a

  const char* name() const noexcept { return "alibi_interpolated"; }
  void validate(const alibi_dims& d) const {
    if (!detail::is_finite_bits(factor) || !(factor > 0.0))
      detail::invalid("posenc::interpolated_alibi_slopes", "factor", factor,
                      "must be finite and > 0");
    detail::check_float_slopes("posenc::interpolated_alibi_slopes", "factor", factor, *this, d);
  }
  void slopes(const alibi_dims& d, double* out) const noexcept {
    const long double log2a = std::log2(static_cast<long double>(factor));
    for (std::size_t h = 0; h < d.num_heads; ++h)
      out[h] = detail::exp2_to_double(detail::alibi_log2_slope(h, d.num_heads, d.max_bias) - log2a);
  }
};

/**
 * Dynamic NTK-ALiBi factor from an explicit current length: a = max(a0 · L / L_train, 1)
 * (keezen/ntk_alibi; a0 ∈ [1, 2] there, L_train = 2048, or 4096 in the Baichuan adaptation).
 * The slopes then change with L, so in decode the bias of every cached key changes each step:
 * fine for ALiBi, which is never baked into K. Use with alibi_bias::set_slopes (no allocation).
 * Throws std::invalid_argument for a0 not finite and > 0 or train_length == 0.
 *
 * Example (per decode step):
 *     alibi.set_slopes(posenc::ntk_alibi_slopes{posenc::dynamic_alibi_factor(1.0, len, 2048)});
 */
inline double dynamic_alibi_factor(double a0, std::size_t length, std::size_t train_length) {
  constexpr const char* who = "posenc::dynamic_alibi_factor";
  if (!detail::is_finite_bits(a0) || !(a0 > 0.0))
    detail::invalid(who, "a0", a0, "must be finite and > 0");
  if (train_length == 0) detail::invalid(who, "train_length", train_length, "must be > 0");
  const double a = a0 * static_cast<double>(length) / static_cast<double>(train_length);
  return a > 1.0 ? a : 1.0;
}

}  // namespace posenc

#endif  // POSENC_NTK_ALIBI_HPP
