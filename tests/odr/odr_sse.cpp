// posenc ODR test — translation unit 1, compiled with the baseline flags (x86-64: SSE2).
// SPDX-License-Identifier: Apache-2.0
//
// This TU is the code under test; odr_main.cpp asserts at run time on what it returns (its
// lane count, arch name and rotated bits). It deliberately includes no GoogleTest header, so
// that nothing but posenc is compiled under these flags; what can be checked here, at compile
// time, is asserted below.
#include <type_traits>

#include "odr/odr_body.hpp"

#if POSENC_ODR_AVX2_FLAGS  // x86 with xsimd: the baseline ISA is SSE2
static_assert(std::is_same<posenc::default_arch, xsimd::sse2>::value,
              "the baseline ODR TU must compile for sse2 (no -m flags may reach it)");
static_assert(posenc::lane_count<float>() == 4 && posenc::lane_count<double>() == 2,
              "sse2 registers hold 4 floats / 2 doubles");
#endif

namespace posenc_odr {
tu_report odr_sse_run(const tu_buffers& b) { return run_this_tu(b); }
}  // namespace posenc_odr
