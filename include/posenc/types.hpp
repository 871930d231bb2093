// posenc — vocabulary types: pair layouts, precision modes, the architecture tags, token ranges.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TYPES_HPP
#define POSENC_TYPES_HPP

#include <cstddef>
#include <cstdint>

#include "posenc/config.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

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
 * How angles are computed.
 * - exact:  inv_freq in double (correctly rounded), angle = position × inv_freq in double (one
 *           rounding), reduced modulo π/2 in double, cos/sin in double, rounded once to the
 *           coefficient type. Float cos/sin are within 1 ulp (double: 3 ulp, no reduction tail) of the correctly rounded value of the
 *           double angle for every position below 2^32.
 * - hf_f32: HF transformers' float32 arithmetic, bit for bit on the angle: inv_freq =
 *           1.0f / powf((float)base, (float)(2k) / (float)r), angle = (float)position × inv_freq
 *           in float, then cos/sin of that float angle (within 1 ulp). Use it only to reproduce
 *           HF numerics; its angle error reaches 1e-3 rad at position 65535.
 */
enum class rope_precision { exact, hf_f32 };

/// The architecture tag used when xsimd is absent (or to force the scalar reference kernels).
struct scalar_arch {
  static constexpr const char* name() noexcept { return "scalar"; }
  static constexpr bool available() noexcept { return true; }
  static constexpr bool supported() noexcept { return true; }
};

#if POSENC_HAS_XSIMD
/// The compile-time best architecture of this translation unit (follows -m flags).
using default_arch = xsimd::default_arch;
#else
using default_arch = scalar_arch;
#endif

/// Name of an architecture tag ("avx512bw", "fma3+avx2", "sse2", "scalar", ...).
template <class Arch = default_arch>
constexpr const char* arch_name() noexcept {
  return Arch::name();
}

namespace detail {
template <class T, class Arch>
struct lanes {
#if POSENC_HAS_XSIMD
  static constexpr std::size_t value = xsimd::batch<T, Arch>::size;
#else
  static constexpr std::size_t value = 1;
#endif
};
template <class T>
struct lanes<T, scalar_arch> {
  static constexpr std::size_t value = 1;
};
}  // namespace detail

/// Number of T lanes in one register of Arch (1 for scalar_arch).
template <class T, class Arch = default_arch>
constexpr std::size_t lane_count() noexcept {
  return detail::lanes<T, Arch>::value;
}

/// A half-open range of tokens [first, last) of a view; `last` is clamped to the view's
/// token count. Engines split work across their own threads by passing disjoint ranges.
struct token_range {
  std::size_t first = 0;
  std::size_t last = static_cast<std::size_t>(-1);
};

}  // namespace posenc

#endif  // POSENC_TYPES_HPP
