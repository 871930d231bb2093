// posenc example — runtime dispatch: the AVX2 + FMA entry (compiled with -mavx2 -mfma).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
#if POSENC_HAS_XSIMD && XSIMD_WITH_FMA3_AVX2
extern const kernel_entry avx2_entry = entry_for<xsimd::fma3<xsimd::avx2>>();
#else
extern const kernel_entry avx2_entry = {"fma3+avx2", nullptr};  // not compiled for it
#endif
}  // namespace dispatch_example
