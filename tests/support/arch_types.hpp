// posenc tests — the architectures a typed test runs on: every xsimd architecture this TU was
// compiled for (xsimd::supported_architectures: 13 on an AVX-512 machine with -march=native,
// sse2 alone in a baseline build), posenc::avx512bf16 when compiled with -mavx512bf16,
// posenc::avx2f16c when compiled with -mavx2 -mfma -mf16c, plus
// posenc::scalar_arch (on AArch64: neon64 and scalar). With POSENC_TEST_WIDEST_ARCH_ONLY
// (CMake: -DPOSENC_TEST_ARCHS=widest) only the widest of them plus scalar; with
// POSENC_TEST_EDGE_ARCHS_ONLY (-DPOSENC_TEST_ARCHS=edges) the widest, SSE2 and scalar.
#ifndef POSENC_TEST_ARCH_TYPES_HPP
#define POSENC_TEST_ARCH_TYPES_HPP

#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "posenc/types.hpp"

namespace posenc_test {

template <class List>
struct to_gtest_types;

#if POSENC_HAS_XSIMD
#if POSENC_TEST_WIDEST_ARCH_ONLY
// -DPOSENC_TEST_ARCHS=widest: the widest architecture this TU was compiled for, plus scalar.
// For configurations where every architecture costs too much to build (sanitizers with
// -march=native: 13 architectures, ASan, 10-25 min per TU).
using arch_types = ::testing::Types<posenc::default_arch, posenc::scalar_arch>;
using simd_arch_types = ::testing::Types<posenc::default_arch>;
#elif POSENC_TEST_EDGE_ARCHS_ONLY && XSIMD_WITH_SSE2 && !XSIMD_WITH_NEON64
// -DPOSENC_TEST_ARCHS=edges: the widest architecture, x86's baseline SSE2 (no FMA: the
// separately rounded fallback paths) and scalar. One sanitized build then covers both ends of
// the x86 range (CI's sanitize section).
template <class Widest, bool = std::is_same<Widest, xsimd::sse2>::value>
struct edge_types {
  using type = ::testing::Types<Widest, xsimd::sse2, posenc::scalar_arch>;
  using simd = ::testing::Types<Widest, xsimd::sse2>;
};
template <class Widest>
struct edge_types<Widest, true> {
  using type = ::testing::Types<xsimd::sse2, posenc::scalar_arch>;
  using simd = ::testing::Types<xsimd::sse2>;
};
using arch_types = typename edge_types<posenc::default_arch>::type;
using simd_arch_types = typename edge_types<posenc::default_arch>::simd;
#elif XSIMD_WITH_NEON64
// AArch64: neon64 and scalar. (xsimd's 32-bit neon tag, also compiled there, has no double
// registers, which the kernels need: the library's kernels run on neon64, default_arch.)
using arch_types = ::testing::Types<xsimd::neon64, posenc::scalar_arch>;
using simd_arch_types = ::testing::Types<xsimd::neon64>;
#else
// posenc's own tags (avx512bf16, avx2f16c) first when this TU is compiled for them.
#if POSENC_WITH_AVX512BF16 && POSENC_WITH_AVX2F16C
#define POSENC_TEST_OWN_TAGS posenc::avx512bf16, posenc::avx2f16c,
#elif POSENC_WITH_AVX512BF16
#define POSENC_TEST_OWN_TAGS posenc::avx512bf16,
#elif POSENC_WITH_AVX2F16C
#define POSENC_TEST_OWN_TAGS posenc::avx2f16c,
#else
#define POSENC_TEST_OWN_TAGS
#endif
template <class... As>
struct to_gtest_types<xsimd::arch_list<As...>> {
  using type = ::testing::Types<POSENC_TEST_OWN_TAGS As..., posenc::scalar_arch>;
  using simd = ::testing::Types<POSENC_TEST_OWN_TAGS As...>;
};
#undef POSENC_TEST_OWN_TAGS
using arch_types = typename to_gtest_types<xsimd::supported_architectures>::type;
/// The xsimd architectures alone (for suites that have no scalar_arch version).
using simd_arch_types = typename to_gtest_types<xsimd::supported_architectures>::simd;
#endif
#else
using arch_types = ::testing::Types<posenc::scalar_arch>;
#endif

/// True when the CPU running the test can execute Arch. Every compiled-for architecture must
/// be runnable on the machine that built the tests (CI builds and runs on one machine), so a
/// test asserts this instead of skipping.
template <class Arch>
bool arch_runs() {
#if POSENC_HAS_XSIMD
  if constexpr (std::is_same<Arch, posenc::scalar_arch>::value) {
    return true;
  } else if constexpr (std::is_same<Arch, posenc::avx512bf16>::value) {
    return posenc::cpu_has_avx512bf16();
  } else if constexpr (std::is_same<Arch, posenc::avx2f16c>::value) {
    return posenc::cpu_has_avx2f16c();
  } else {
    return Arch::version() <= xsimd::available_architectures().best;
  }
#else
  return true;
#endif
}

/// GoogleTest names: xsimd's "fma3+avx2" has a '+', which test names may not contain.
struct arch_names {
  template <class Arch>
  static std::string GetName(int) {
    std::string n = Arch::name();
    for (char& ch : n)
      if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
        ch = '_';
    return n;
  }
};

}  // namespace posenc_test

#define POSENC_ASSERT_ARCH_RUNS(Arch)                                                        \
  ASSERT_TRUE(::posenc_test::arch_runs<Arch>()) << "compiled for " << Arch::name()           \
                                                << " but this CPU cannot run it: build the " \
                                                   "tests on the machine that runs them"

#endif  // POSENC_TEST_ARCH_TYPES_HPP
