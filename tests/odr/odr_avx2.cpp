// posenc ODR test — translation unit 2, compiled with -mavx2 -mfma (tests/odr/CMakeLists.txt;
// POSENC_ODR_AVX2_FLAGS says whether it really was).
// SPDX-License-Identifier: Apache-2.0
//
// This TU is the code under test; odr_main.cpp asserts at run time on what it returns (its
// lane count, arch name and rotated bits). It deliberately includes no GoogleTest header: its
// static initialisers and inline functions would be compiled with -mavx2 and could run before
// any CPU check (tests/support/check_isa_symbols.sh flags, e.g., gtest's
// PrintToString<int> as AVX code shared with odr_main.cpp's copy). What can be checked here, at
// compile time, is asserted below.
#include <type_traits>

#include "odr/odr_body.hpp"

#if POSENC_ODR_AVX2_FLAGS
static_assert(std::is_same<posenc::default_arch, xsimd::fma3<xsimd::avx2>>::value,
              "-mavx2 -mfma must make fma3<avx2> this TU's default architecture");
static_assert(posenc::lane_count<float>() == 8 && posenc::lane_count<double>() == 4,
              "AVX2 registers hold 8 floats / 4 doubles");
#endif

namespace posenc_odr {
tu_report odr_avx2_run(const tu_buffers& b) { return run_this_tu(b); }
}  // namespace posenc_odr
