// posenc example — runtime dispatch: one binary, the best kernels the running CPU has.
//
// Each rope_<isa>.cpp is compiled with its instruction set's -m flags (examples/CMakeLists.txt)
// and contains only calls of posenc's templates on that architecture tag, so its SIMD code has
// symbols of its own. main.cpp, built for the baseline ISA, constructs every object, checks the
// CPU and calls through the table below. See README §SIMD.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_EXAMPLE_DISPATCH_HPP
#define POSENC_EXAMPLE_DISPATCH_HPP

#include <cstdint>

#include "posenc/rope_cache.hpp"

namespace dispatch_example {

/// Rotates q and k in place (shared angles) over every token of the views.
using apply_fn = void (*)(const posenc::rope_cache<float>& cache,
                          posenc::head_view<posenc::bfloat16_t> q,
                          posenc::head_view<posenc::bfloat16_t> k, const std::int64_t* pos);

/// One entry per instruction set: constant data, so that reading it runs no code of the ISA
/// TU (even returning a struct from a function compiled with -mavx2 may use AVX registers).
/// `fn` is null when the TU was not compiled for its ISA (e.g. a non-x86 target). Whether the
/// CPU can run it is decided in main.cpp, built for the baseline ISA.
struct kernel_entry {
  const char* name;
  apply_fn fn;
};

/// The entry of the TU that includes this: the rope on Arch, named after it. A template on
/// Arch, so each ISA TU instantiates its own symbol (never merged across -m flags).
template <class Arch>
void apply_on(const posenc::rope_cache<float>& cache, posenc::head_view<posenc::bfloat16_t> q,
              posenc::head_view<posenc::bfloat16_t> k, const std::int64_t* pos) {
  cache.apply<Arch>(q, k, pos);
}
template <class Arch>
constexpr kernel_entry entry_for() {
  return {Arch::name(), &apply_on<Arch>};
}

extern const kernel_entry baseline_entry;    // rope_baseline.cpp: the compiler's default ISA
extern const kernel_entry avx2_entry;        // rope_avx2.cpp: -mavx2 -mfma
extern const kernel_entry avx512_entry;      // rope_avx512.cpp: AVX-512 F/CD/BW/DQ/VL
extern const kernel_entry avx512bf16_entry;  // rope_avx512bf16.cpp: the same + -mavx512bf16

}  // namespace dispatch_example

#endif  // POSENC_EXAMPLE_DISPATCH_HPP
