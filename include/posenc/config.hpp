// posenc — feature macros: POSENC_HAS_XSIMD, POSENC_ASSERT, POSENC_HAS_SPAN, POSENC_FORCE_INLINE,
// POSENC_UNROLL.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_CONFIG_HPP
#define POSENC_CONFIG_HPP

#include <cassert>

/// POSENC_HAS_XSIMD is 1 when the SIMD kernels are compiled (the CMake target defines it from
/// POSENC_USE_XSIMD). When nobody defined it, use xsimd if its header is reachable.
#ifndef POSENC_HAS_XSIMD
#if defined(__has_include)
#if __has_include(<xsimd/xsimd.hpp>)
#define POSENC_HAS_XSIMD 1
#else
#define POSENC_HAS_XSIMD 0
#endif
#else
#define POSENC_HAS_XSIMD 0
#endif
#endif

/// Debug-only contract checks on hot paths (shapes, strides, ranges). Hot-path calls are
/// noexcept; in release builds (NDEBUG) the checks compile to nothing. Define POSENC_ASSERT
/// yourself to route them to your engine's checker.
#ifndef POSENC_ASSERT
#define POSENC_ASSERT(cond, msg) assert((cond) && (msg))
#endif

#if defined(__cpp_lib_span) || \
    (__cplusplus >= 202002L && defined(__has_include) && __has_include(<span>))
#define POSENC_HAS_SPAN 1
#else
#define POSENC_HAS_SPAN 0
#endif

/// A loop body shared by kernels that must compile into their caller's loop (its registers
/// stay live across the caller's iterations instead of being reloaded per call).
#if defined(__GNUC__) || defined(__clang__)
#define POSENC_FORCE_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define POSENC_FORCE_INLINE __forceinline
#else
#define POSENC_FORCE_INLINE inline
#endif

/// Unroll the following loop completely (its trip count is a small compile-time constant):
/// the per-register loops of the kernels hold their values in registers only when unrolled,
/// which g++ does by itself at -O3 but not at -O2 (CMake's RelWithDebInfo).
#if defined(__clang__)
#define POSENC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define POSENC_UNROLL _Pragma("GCC unroll 16")
#else
#define POSENC_UNROLL
#endif

#endif  // POSENC_CONFIG_HPP
