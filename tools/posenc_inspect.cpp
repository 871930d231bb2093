// posenc-inspect — command-line entry point (the implementation is tools/inspect.hpp).
//
//     posenc-inspect [CONFIG.json] [--seq-len N] [--json] [--svg FILE] ...
//     posenc-inspect alibi ...            (dispatched to tools/inspect_alibi.hpp when present)
//
// SPDX-License-Identifier: Apache-2.0
#include <cstring>
#include <iostream>

#include "inspect.hpp"

#if defined(__has_include)
#if __has_include("inspect_alibi.hpp")
#include "inspect_alibi.hpp"
#define POSENC_INSPECT_HAS_ALIBI 1
#endif
#endif

int main(int argc, char** argv) {
#if defined(POSENC_INSPECT_HAS_ALIBI)
  // Subcommand convention: the alibi tool sees argv[0] == "alibi" and its own options after it.
  if (argc > 1 && std::strcmp(argv[1], "alibi") == 0)
    return posenc_inspect_alibi(argc - 1, argv + 1);
#endif
  return posenc_inspect::run(argc, argv, std::cout, std::cerr);
}
