// posenc ODR test — translation unit 2, compiled with -mavx2 -mfma (tests/odr/CMakeLists.txt;
// POSENC_ODR_AVX2_FLAGS says whether it really was).
// SPDX-License-Identifier: Apache-2.0
//
// Not a test of its own: this TU is the code under test, and odr_main.cpp asserts on what it
// returns (its lane count, arch name and rotated bits). It deliberately includes no GoogleTest
// header, so that nothing but posenc is compiled under these flags.
#include "odr/odr_body.hpp"

namespace posenc_odr {
tu_report odr_avx2_run(const tu_buffers& b) { return run_this_tu(b); }
}  // namespace posenc_odr
