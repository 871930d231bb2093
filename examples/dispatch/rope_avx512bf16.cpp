// posenc example — runtime dispatch: the AVX-512 + BF16 entry (AVX-512 flags + -mavx512bf16).
// Same kernels as avx512bw except the float -> bfloat16 packing (vcvtne2ps2bf16).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
#if POSENC_WITH_AVX512BF16
namespace {
using arch = posenc::avx512bf16;
void apply(const posenc::rope_cache<float>& cache, posenc::head_view<posenc::bfloat16_t> q,
           posenc::head_view<posenc::bfloat16_t> k, const std::int64_t* pos) {
  cache.apply<arch>(q, k, pos);
}
}  // namespace
extern const kernel_entry avx512bf16_entry = {arch::name(), &apply};
#else
extern const kernel_entry avx512bf16_entry = {"avx512bf16", nullptr};
#endif
}  // namespace dispatch_example
