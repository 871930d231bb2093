// posenc::dispatch — the baseline entries: the compiler's default ISA for the target (sse2 on
// x86-64, neon64 on AArch64; scalar without xsimd). Compiled without extra -m flags.
// SPDX-License-Identifier: Apache-2.0
#include "table.hpp"

namespace posenc {
namespace dispatch {
namespace detail {
extern const kernel_table baseline_table = make_table<posenc::default_arch>();
}  // namespace detail
}  // namespace dispatch
}  // namespace posenc
