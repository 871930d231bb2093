// posenc::dispatch — the AVX-512 entries (compiled with -mavx512f -mavx512cd -mavx512bw
// -mavx512dq -mavx512vl).
// SPDX-License-Identifier: Apache-2.0
#include "table.hpp"

namespace posenc {
namespace dispatch {
namespace detail {
#if POSENC_HAS_XSIMD && XSIMD_WITH_AVX512BW
extern const kernel_table avx512_table = make_table<xsimd::avx512bw>();
#else
extern const kernel_table avx512_table = missing_table("avx512bw");
#endif
}  // namespace detail
}  // namespace dispatch
}  // namespace posenc
