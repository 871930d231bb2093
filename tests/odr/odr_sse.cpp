// posenc ODR test — translation unit 1, compiled with the baseline flags (x86-64: SSE2).
// SPDX-License-Identifier: Apache-2.0
//
// Not a test of its own: this TU is the code under test, and odr_main.cpp asserts on what it
// returns (its lane count, arch name and rotated bits). It deliberately includes no GoogleTest
// header, so that nothing but posenc is compiled under these flags.
#include "odr/odr_body.hpp"

namespace posenc_odr {
tu_report odr_sse_run(const tu_buffers& b) { return run_this_tu(b); }
}  // namespace posenc_odr
