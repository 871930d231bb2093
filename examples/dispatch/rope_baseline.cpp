// posenc example — runtime dispatch: the baseline entry (compiled with the default flags).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
namespace {
void apply(const posenc::rope_cache<float>& cache, posenc::head_view<posenc::bfloat16_t> q,
           posenc::head_view<posenc::bfloat16_t> k, const std::int64_t* pos) {
  cache.apply<posenc::default_arch>(q, k, pos);
}
}  // namespace

extern const kernel_entry baseline_entry = {posenc::arch_name(), &apply};
}  // namespace dispatch_example
