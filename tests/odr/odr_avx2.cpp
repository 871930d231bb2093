// posenc ODR test — translation unit 2, compiled with -mavx2 -mfma (tests/odr/CMakeLists.txt;
// POSENC_ODR_AVX2_FLAGS says whether it really was).
// SPDX-License-Identifier: Apache-2.0
#include "odr/odr_body.hpp"

namespace posenc_odr {
tu_report odr_avx2_run(const tu_buffers& b) { return run_this_tu(b); }
}  // namespace posenc_odr
