// posenc::dispatch — the AVX2 + FMA entries (compiled with -mavx2 -mfma).
// SPDX-License-Identifier: Apache-2.0
#include "table.hpp"

namespace posenc {
namespace dispatch {
namespace detail {
#if POSENC_HAS_XSIMD && XSIMD_WITH_FMA3_AVX2
extern const kernel_table avx2_table = make_table<xsimd::fma3<xsimd::avx2>>();
#else
extern const kernel_table avx2_table = missing_table("fma3+avx2");
#endif
}  // namespace detail
}  // namespace dispatch
}  // namespace posenc
