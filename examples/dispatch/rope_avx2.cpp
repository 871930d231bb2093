// posenc example — runtime dispatch: the AVX2 + FMA entry (compiled with -mavx2 -mfma).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
#if POSENC_HAS_XSIMD && XSIMD_WITH_FMA3_AVX2
namespace {
using arch = xsimd::fma3<xsimd::avx2>;
void apply(const posenc::rope_cache<float>& cache, posenc::head_view<posenc::bfloat16_t> q,
           posenc::head_view<posenc::bfloat16_t> k, const std::int64_t* pos) {
  cache.apply<arch>(q, k, pos);
}
}  // namespace
extern const kernel_entry avx2_entry = {arch::name(), &apply};
#else
extern const kernel_entry avx2_entry = {"fma3+avx2", nullptr};
#endif
}  // namespace dispatch_example
