// posenc — memory-level tuning chosen per core: whether the kernels issue software prefetches
// when they stream views larger than the caches (the RoPE L2 read hint, the ALiBi / positioned
// tile write hints). Decided once from the CPU's vendor and family (CPUID leaves 0 and 1),
// overridable at run time (set_prefetch) so that both choices can be measured on any machine.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TUNING_HPP
#define POSENC_TUNING_HPP

#include <atomic>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#define POSENC_HAS_CPUID 1
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#define POSENC_HAS_CPUID 1
#else
#define POSENC_HAS_CPUID 0
#endif

namespace posenc {

/// Software prefetch in the streaming kernels: automatic (per core, see prefetch_enabled), or
/// forced on / off (benchmarks, or an engine that measured its own machine).
enum class prefetch_mode { automatic, on, off };

namespace detail {
/// CPUID leaf `leaf` into r = {eax, ebx, ecx, edx}; false where CPUID is not available.
inline bool cpuid(unsigned leaf, unsigned (&r)[4]) noexcept {
#if POSENC_HAS_CPUID && defined(_MSC_VER) && !defined(__clang__)
  int v[4];
  __cpuid(v, 0);
  if (static_cast<unsigned>(v[0]) < leaf) return false;
  __cpuid(v, static_cast<int>(leaf));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(v[i]);
  return true;
#elif POSENC_HAS_CPUID
  return __get_cpuid(leaf, &r[0], &r[1], &r[2], &r[3]) != 0;
#else
  (void)leaf;
  (void)r;
  return false;
#endif
}

/// Whether CPUID leaf 0 names AMD ("AuthenticAMD") or Hygon ("HygonGenuine"): the vendor's
/// three register words (ebx, edx, ecx) compared as integers. No arrays or string functions:
/// like every inline function that is not a template on the architecture, these hold no vector
/// code, so a copy emitted in a TU built with -mavx2 cannot carry AVX instructions into another
/// TU (the ODR rule, posenc/simd/arch.hpp; tests/odr's odr_isa_symbols checks it).
inline bool cpu_is_amd() noexcept {
  unsigned r[4];
  if (!cpuid(0, r)) return false;
  const bool amd = r[1] == 0x68747541u && r[3] == 0x69746e65u && r[2] == 0x444d4163u;
  const bool hygon = r[1] == 0x6f677948u && r[3] == 0x6e65476eu && r[2] == 0x656e6975u;
  return amd || hygon;
}

/// CPUID family of the processor (base + extended family, leaf 1); 0 where unknown.
inline unsigned cpu_family() noexcept {
  unsigned r[4];
  if (!cpuid(1, r)) return 0;
  const unsigned base = (r[0] >> 8) & 0xf;
  return base == 0xf ? base + ((r[0] >> 20) & 0xff) : base;
}

/// The automatic choice, from what the CPU reports (vendor, family): off on AMD from family
/// 0x19 on (Zen 3, 4, 5: their L2 stream / region prefetchers already keep the lines in flight,
/// and the hints cost), on for AMD family 0x17 (Zen 1, Zen 2 and such guests, where 4 KiB pages
/// stop the hardware prefetchers) and for every other vendor. The measurements behind it:
/// bench/README.md, "Software prefetch".
inline bool prefetch_default() noexcept { return !(cpu_is_amd() && cpu_family() >= 0x19); }

inline std::atomic<int>& prefetch_setting() noexcept {
  static std::atomic<int> s{static_cast<int>(prefetch_mode::automatic)};
  return s;
}
}  // namespace detail

/// Overrides the automatic choice for every later call (thread-safe; takes effect at the next
/// kernel call, never inside one).
inline void set_prefetch(prefetch_mode m) noexcept {
  detail::prefetch_setting().store(static_cast<int>(m), std::memory_order_relaxed);
}

/// Whether the streaming kernels issue their software prefetches: set_prefetch's choice, or
/// the per-core default (decided once). Read once per call, outside the hot loops.
inline bool prefetch_enabled() noexcept {
  static const bool automatic = detail::prefetch_default();
  switch (static_cast<prefetch_mode>(detail::prefetch_setting().load(std::memory_order_relaxed))) {
    case prefetch_mode::on:
      return true;
    case prefetch_mode::off:
      return false;
    default:
      return automatic;
  }
}

}  // namespace posenc

#endif  // POSENC_TUNING_HPP
