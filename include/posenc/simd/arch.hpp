// posenc — architecture tags: scalar_arch, the xsimd tags, posenc's own avx2f16c and
// avx512bf16, default_arch, and the run-time checks for posenc's own tags.
// SPDX-License-Identifier: Apache-2.0
//
// The one rule every kernel follows (the ODR rule): code compiled for different instruction
// sets never shares a symbol. Every function that touches an xsimd::batch is a template on the
// architecture tag, and a translation unit instantiates kernels only on the tags its -m flags
// enable (default_arch, or a narrower one it names). Two TUs built with different flags then
// instantiate different specialisations, and the linker cannot pick an AVX-512 copy of a
// function for a caller built for SSE2. Inline functions that are not templates on the tag hold
// no vector code. tests/odr/ and tests/support/check_isa_symbols.sh check this.
#ifndef POSENC_SIMD_ARCH_HPP
#define POSENC_SIMD_ARCH_HPP

#include <cstddef>

#include "posenc/config.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define POSENC_X86_CPUID 1
#endif
#endif
#ifndef POSENC_X86_CPUID
#define POSENC_X86_CPUID 0
#endif

namespace posenc {

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
#if XSIMD_WITH_FMA3_AVX2 && defined(__F16C__)
#define POSENC_WITH_AVX2F16C 1
#else
#define POSENC_WITH_AVX2F16C 0
#endif

/**
 * AVX2 + FMA plus the F16C conversions (vcvtph2ps / vcvtps2ph: Intel since Ivy Bridge, AMD
 * since Piledriver; every AVX2 + FMA server core has them). xsimd 8.1's AVX2 tags do not imply
 * F16C, so binary16 on them converts with integer code; this tag derives from
 * xsimd::fma3<xsimd::avx2>, so every xsimd operation and posenc kernel serves it unchanged, and
 * only binary16 loads and stores (simd::hw_f16) convert in hardware. It is the default_arch of
 * a TU compiled with -mavx2 -mfma -mf16c and without AVX-512 (e.g. -march=native on Haswell …
 * Alder Lake, Zen 1-3). Run-time check: posenc::cpu_has_avx2f16c().
 */
struct avx2f16c : xsimd::fma3<xsimd::avx2> {
  static constexpr bool supported() noexcept { return POSENC_WITH_AVX2F16C; }
  static constexpr bool available() noexcept { return true; }
  static constexpr unsigned version() noexcept { return xsimd::generic::version(2, 2, 2); }
  static constexpr const char* name() noexcept { return "fma3+avx2+f16c"; }
};

/**
 * AVX-512 BW plus the BF16 conversions (AVX512_BF16: Cooper Lake, Sapphire Rapids and later,
 * Zen 4). xsimd 8.1 has no tag for them; this one derives from xsimd::avx512bw, so every xsimd
 * operation and every posenc kernel written for AVX-512 serves it unchanged, and only the
 * float -> bfloat16 packing (simd::bf16_pack) has its own version. It is the default_arch of a
 * TU compiled with -mavx512bf16 (e.g. -march=native on those CPUs). Run-time check:
 * posenc::cpu_has_avx512bf16().
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
#elif POSENC_WITH_AVX2F16C && !XSIMD_WITH_AVX512F
using default_arch = avx2f16c;
#else
using default_arch = xsimd::default_arch;
#endif
#else
#define POSENC_WITH_AVX512BF16 0
#define POSENC_WITH_AVX2F16C 0
using default_arch = scalar_arch;
#endif

namespace detail {
/// The OS saves the register state of XCR0 `mask` (OSXSAVE set, then xgetbv). x86 only.
inline bool os_saves(unsigned mask) noexcept {
#if POSENC_X86_CPUID
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid(1, eax, ebx, ecx, edx);
  if (((ecx >> 27) & 1u) == 0) return false;  // OSXSAVE: xgetbv usable
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  return (xcr0_lo & mask) == mask;
#else
  (void)mask;
  return false;
#endif
}
}  // namespace detail

/// Whether the running CPU and OS can execute posenc::avx512bf16 code: CPUID reports AVX-512
/// F, DQ and BW (leaf 7, EBX bits 16, 17, 30) and AVX512_BF16 (leaf 7 subleaf 1, EAX bit 5),
/// and the OS saves the AVX-512 state (XCR0 bits 1, 2, 5, 6, 7). False on other targets, with
/// MSVC, and without xsimd. Call it from code built for the baseline ISA.
inline bool cpu_has_avx512bf16() noexcept {
#if POSENC_HAS_XSIMD && POSENC_X86_CPUID
  if (!detail::os_saves(0xE6u)) return false;  // SSE, AVX, opmask, ZMM state enabled
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  constexpr unsigned f_dq_bw = (1u << 16) | (1u << 17) | (1u << 30);
  if ((ebx & f_dq_bw) != f_dq_bw) return false;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  return ((eax >> 5) & 1u) != 0;
#else
  return false;
#endif
}

/// Whether the running CPU and OS can execute posenc::avx2f16c code: CPUID reports FMA and
/// F16C (leaf 1, ECX bits 12 and 29) and AVX2 (leaf 7, EBX bit 5), and the OS saves the AVX
/// state (XCR0 bits 1, 2). False on other targets, with MSVC, and without xsimd.
inline bool cpu_has_avx2f16c() noexcept {
#if POSENC_HAS_XSIMD && POSENC_X86_CPUID
  if (!detail::os_saves(0x6u)) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(1, eax, ebx, ecx, edx);
  constexpr unsigned fma_f16c = (1u << 12) | (1u << 29);
  if ((ecx & fma_f16c) != fma_f16c) return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  return ((ebx >> 5) & 1u) != 0;
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

}  // namespace posenc

#if POSENC_HAS_XSIMD
namespace xsimd {
namespace types {
#if POSENC_WITH_AVX512BF16
// Registers of posenc::avx512bf16 are those of avx512bw (as xsimd declares its own tags).
template <class T>
struct get_bool_simd_register<T, posenc::avx512bf16> {
  using type = simd_avx512_bool_register<T>;
};
XSIMD_DECLARE_SIMD_REGISTER_ALIAS(posenc::avx512bf16, avx512bw);
#endif
#if POSENC_WITH_AVX2F16C
// Registers of posenc::avx2f16c are those of avx2 (as xsimd declares fma3<avx2>'s).
XSIMD_DECLARE_SIMD_REGISTER_ALIAS(posenc::avx2f16c, avx2);
#endif
}  // namespace types
}  // namespace xsimd
#endif

#endif  // POSENC_SIMD_ARCH_HPP
