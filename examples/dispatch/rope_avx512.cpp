// posenc example — runtime dispatch: the AVX-512 entry (compiled with -mavx512f -mavx512cd
// -mavx512bw -mavx512dq -mavx512vl).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
#if POSENC_HAS_XSIMD && XSIMD_WITH_AVX512BW
namespace {
using arch = xsimd::avx512bw;
void apply(const posenc::rope_cache<float>& cache, posenc::head_view<posenc::bfloat16_t> q,
           posenc::head_view<posenc::bfloat16_t> k, const std::int64_t* pos) {
  cache.apply<arch>(q, k, pos);
}
}  // namespace
extern const kernel_entry avx512_entry = {arch::name(), &apply};
#else
extern const kernel_entry avx512_entry = {"avx512bw", nullptr};
#endif
}  // namespace dispatch_example
