// posenc — library version, the single source of truth (CMake parses these three lines).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_VERSION_HPP
#define POSENC_VERSION_HPP

#define POSENC_VERSION_MAJOR 0
#define POSENC_VERSION_MINOR 1
#define POSENC_VERSION_PATCH 0

#endif  // POSENC_VERSION_HPP
