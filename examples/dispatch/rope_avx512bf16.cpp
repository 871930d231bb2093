// posenc example — runtime dispatch: the AVX-512 + BF16 entry (AVX-512 flags + -mavx512bf16).
// Same kernels as avx512bw except the float -> bfloat16 packing (vcvtne2ps2bf16).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
#if POSENC_WITH_AVX512BF16
extern const kernel_entry avx512bf16_entry = entry_for<posenc::avx512bf16>();
#else
extern const kernel_entry avx512bf16_entry = {"avx512bf16", nullptr};  // not compiled for it
#endif
}  // namespace dispatch_example
