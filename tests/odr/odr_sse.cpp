// posenc ODR test — translation unit 1, compiled with the baseline flags (x86-64: SSE2).
// SPDX-License-Identifier: Apache-2.0
#include "odr/odr_body.hpp"

namespace posenc_odr {
tu_report odr_sse_run(const tu_buffers& b) { return run_this_tu(b); }
}  // namespace posenc_odr
