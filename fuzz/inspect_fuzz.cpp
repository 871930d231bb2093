// libFuzzer entry point: posenc-inspect in-process (fuzz/targets.hpp). Built by fuzz/run.sh.
// SPDX-License-Identifier: Apache-2.0
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  posenc_fuzz::inspect_one(data, size);
  return 0;
}
