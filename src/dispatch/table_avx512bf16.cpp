// posenc::dispatch — the AVX-512 + BF16 entries (the AVX-512 flags + -mavx512bf16): the same
// kernels as avx512bw except the float -> bfloat16 packing (vcvtne2ps2bf16).
// SPDX-License-Identifier: Apache-2.0
#include "table.hpp"

namespace posenc {
namespace dispatch {
namespace detail {
#if POSENC_WITH_AVX512BF16
extern const kernel_table avx512bf16_table = make_table<posenc::avx512bf16>();
#else
extern const kernel_table avx512bf16_table = missing_table("avx512bf16");
#endif
}  // namespace detail
}  // namespace dispatch
}  // namespace posenc
