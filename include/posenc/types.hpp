// posenc — vocabulary types: pair layouts, precision modes, token ranges (and, through
// simd/arch.hpp, the architecture tags).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TYPES_HPP
#define POSENC_TYPES_HPP

#include <cstddef>
#include <cstdint>

#include "posenc/config.hpp"
#include "posenc/simd/arch.hpp"

namespace posenc {

/**
 * Which two channels of a head form rotation pair k (k < r/2, r = rotary_dim).
 *
 * Layout, head_dim = 8, rotary_dim = 4 (c: first element of a pair, s: second, 0: untouched):
 *
 *     half_split  (GPT-NeoX, HF `rotate_half`, vLLM is_neox_style, ggml NEOX):  [ccss0000]
 *                 pair k = (k, k + r/2)
 *     interleaved (GPT-J, Meta LLaMA, RoFormer paper, ggml NORMAL):          [cscs0000]
 *                 pair k = (2k, 2k + 1)
 *
 * HF checkpoints of LLaMA-family models are half_split (the converter permutes q/k rows);
 * Meta's original checkpoints and GGUF files run interleaved.
 */
enum class rope_layout { half_split, interleaved };

/**
 * How angles are computed (README "Numerical contract" is the one full statement).
 * - exact:  inv_freq in double (correctly rounded), angle = position × inv_freq in double (one
 *           rounding), reduced modulo π/2 in double, cos/sin in double, rounded once to the
 *           coefficient type. At every position up to 2^31 − 1, float cos/sin are within 1 ulp
 *           and double cos/sin within 2 ulp of the correctly rounded value of the double angle.
 * - hf_f32: HF transformers' float32 arithmetic: inv_freq = 1.0f / powf((float)base,
 *           (float)(2k) / (float)r) and each scaling's float32 steps in HF's order, with a
 *           correctly rounded powf (HF's stored value agrees within 1 ulp: torch's pow is not
 *           correctly rounded); given the same inv_freq, the angle (float)position × inv_freq
 *           is bit for bit HF's; cos/sin of that float angle within 1 ulp of the correctly
 *           rounded float. Use it only to reproduce HF numerics; its angle error reaches 1e-3
 *           rad at position 65535.
 * Both hold under any -ffp-contract, -O level and -ffast-math (NaN/inf inputs excepted).
 */
enum class rope_precision { exact, hf_f32 };

/// A half-open range of tokens [first, last) of a view; `last` is clamped to the view's
/// token count. Engines split work across their own threads by passing disjoint ranges.
struct token_range {
  std::size_t first = 0;
  std::size_t last = static_cast<std::size_t>(-1);
};

}  // namespace posenc

#endif  // POSENC_TYPES_HPP
