// posenc — RoPE frequency scaling policies: the policy contract, no_scaling, and every policy
// (linear, ntk, dynamic NTK, YaRN, Llama-3, LongRoPE, per-pair divisors, YaRN over divisors).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SCALING_HPP
#define POSENC_SCALING_HPP

#include <cstddef>

#include "posenc/frequency.hpp"

namespace posenc {

/**
 * A scaling policy is any type with these const members (see no_scaling for the shape):
 *
 *     const char* name() const;                                  // "none", "linear", "yarn", ...
 *     void validate(const rope_dims&) const;                     // throws std::invalid_argument
 *     void inv_freq(const rope_dims&, double* out) const;        // out[k], k < r/2, exact mode
 *     void inv_freq_f32(const rope_dims&, float* out) const;     // out[k], HF float32 arithmetic
 *     double attention_factor(const rope_dims&) const;           // cos/sin magnitude (YaRN mscale)
 *
 * The rope functor calls them once, at construction; nothing in the hot path depends on the
 * policy. A policy computes the whole frequency table (not a per-pair adjustment) so that
 * base-changing schemes (NTK) and per-pair ones (YaRN, Llama-3, LongRoPE) fit alike.
 */
struct no_scaling {
  const char* name() const noexcept { return "none"; }
  void validate(const rope_dims&) const {}
  void inv_freq(const rope_dims& d, double* out) const noexcept {
    for (std::size_t k = 0; k < d.pairs(); ++k) out[k] = default_inv_freq(d.base, d.rotary_dim, k);
  }
  void inv_freq_f32(const rope_dims& d, float* out) const noexcept {
    for (std::size_t k = 0; k < d.pairs(); ++k) out[k] = hf_inv_freq_f32(d.base, d.rotary_dim, k);
  }
  double attention_factor(const rope_dims&) const noexcept { return 1.0; }
};

}  // namespace posenc

// The scaling policies (each header is self-contained; this one includes them all).
#include "posenc/scaling/freq_factors.hpp"
#include "posenc/scaling/linear.hpp"
#include "posenc/scaling/llama3.hpp"
#include "posenc/scaling/longrope.hpp"
#include "posenc/scaling/ntk.hpp"
#include "posenc/scaling/yarn.hpp"
#include "posenc/scaling/yarn_freq_factors.hpp"

#endif  // POSENC_SCALING_HPP
