// posenc example — runtime dispatch: the baseline entry (compiled with the default flags).
// SPDX-License-Identifier: Apache-2.0
#include "dispatch.hpp"

namespace dispatch_example {
extern const kernel_entry baseline_entry = entry_for<posenc::default_arch>();
}  // namespace dispatch_example
