// posenc::dispatch — the AVX2 + FMA + F16C entries (compiled with -mavx2 -mfma -mf16c): the
// fma3+avx2 kernels with hardware binary16 conversions, when posenc has the posenc::avx2f16c tag
// (posenc/simd/arch.hpp); an empty table otherwise.
// SPDX-License-Identifier: Apache-2.0
#include "table.hpp"

namespace posenc {
namespace dispatch {
namespace detail {
#if defined(POSENC_WITH_AVX2F16C) && POSENC_WITH_AVX2F16C
extern const kernel_table avx2f16c_table = make_table<posenc::avx2f16c>();
#else
extern const kernel_table avx2f16c_table = missing_table("fma3+avx2+f16c");
#endif
}  // namespace detail
}  // namespace dispatch
}  // namespace posenc
