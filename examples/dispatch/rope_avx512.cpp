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
bool runs() { return xsimd::available_architectures().avx512bw != 0; }
}  // namespace
kernel_entry avx512_kernels() { return {arch::name(), &apply, &runs}; }
#else
kernel_entry avx512_kernels() { return {"avx512bw (not compiled)", nullptr, nullptr}; }
#endif
}  // namespace dispatch_example
