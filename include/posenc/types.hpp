// posenc — vocabulary types: pair layouts, precision modes, the architecture tags, token ranges.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TYPES_HPP
#define POSENC_TYPES_HPP

#include <cstddef>
#include <cstdint>

#include "posenc/config.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
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

/// The architecture tag used when xsimd is absent (or to force the scalar reference kernels).
struct scalar_arch {
  static constexpr const char* name() noexcept { return "scalar"; }
  static constexpr bool available() noexcept { return true; }
  static constexpr bool supported() noexcept { return true; }
};

#if POSENC_HAS_XSIMD
#if XSIMD_WITH_AVX512BW && XSIMD_WITH_AVX512DQ && defined(__AVX512BF16__)
#define POSENC_WITH_AVX512BF16 1
#else
#define POSENC_WITH_AVX512BF16 0
#endif

/**
 * AVX-512 BW plus the BF16 conversions (AVX512_BF16: Cooper Lake, Sapphire Rapids and later,
 * Zen 4). xsimd 8.1 has no tag for them; this one derives from xsimd::avx512bw, so every xsimd
 * operation and every posenc kernel written for AVX-512 serves it unchanged, and only the
 * float -> bfloat16 packing (simd::bf16_pack) has its own version. A distinct tag keeps the
 * rule that code compiled for different instruction sets never shares a symbol: a TU built
 * with -mavx512bf16 instantiates kernels on avx512bf16, one built with -mavx512bw on
 * xsimd::avx512bw. It is the default_arch of a TU compiled with -mavx512bf16 (e.g.
 * -march=native on those CPUs). Runtime check: posenc::cpu_has_avx512bf16().
 */
struct avx512bf16 : xsimd::avx512bw {
  static constexpr bool supported() noexcept { return POSENC_WITH_AVX512BF16; }
  static constexpr bool available() noexcept { return true; }
  static constexpr unsigned version() noexcept { return xsimd::generic::version(3, 4, 1); }
  static constexpr const char* name() noexcept { return "avx512bf16"; }
};

/// The compile-time best architecture of this translation unit (follows -m flags).
#if POSENC_WITH_AVX512BF16
using default_arch = avx512bf16;
#else
using default_arch = xsimd::default_arch;
#endif
#else
#define POSENC_WITH_AVX512BF16 0
using default_arch = scalar_arch;
#endif

/// Whether the running CPU and OS can execute posenc::avx512bf16 code: CPUID reports AVX-512
/// F, DQ and BW (leaf 7, EBX bits 16, 17, 30) and AVX512_BF16 (leaf 7 subleaf 1, EAX bit 5),
/// and the OS saves the AVX-512 state (OSXSAVE, XCR0 bits 1, 2, 5, 6, 7). False on other
/// targets, with MSVC, and without xsimd. Call it from code built for the baseline ISA.
inline bool cpu_has_avx512bf16() noexcept {
#if POSENC_HAS_XSIMD && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid(1, eax, ebx, ecx, edx);
  if (((ecx >> 27) & 1u) == 0) return false;  // OSXSAVE: xgetbv usable
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0xE6u) != 0xE6u) return false;  // SSE, AVX, opmask, ZMM state enabled
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  constexpr unsigned f_dq_bw = (1u << 16) | (1u << 17) | (1u << 30);
  if ((ebx & f_dq_bw) != f_dq_bw) return false;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  return ((eax >> 5) & 1u) != 0;
#else
  return false;
#endif
}

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

#if POSENC_WITH_AVX512BF16
namespace xsimd {
namespace types {
// Registers of posenc::avx512bf16 are those of avx512bw (as xsimd declares its own tags).
template <class T>
struct get_bool_simd_register<T, posenc::avx512bf16> {
  using type = simd_avx512_bool_register<T>;
};
XSIMD_DECLARE_SIMD_REGISTER_ALIAS(posenc::avx512bf16, avx512bw);
}  // namespace types
}  // namespace xsimd
#endif

#endif  // POSENC_TYPES_HPP
