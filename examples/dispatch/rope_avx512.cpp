// posenc example — runtime dispatch: the AVX-512 entry (compiled with -mavx512f -mavx512cd
// -mavx512bw -mavx512dq -mavx512vl).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
#if POSENC_HAS_XSIMD && XSIMD_WITH_AVX512BW
extern const kernel_entry avx512_entry = entry_for<xsimd::avx512bw>();
#else
extern const kernel_entry avx512_entry = {"avx512bw", nullptr};  // not compiled for it
#endif
}  // namespace dispatch_example
