# toolchain-aarch64.cmake: cross-build posenc's tests and examples for AArch64 (Linux, glibc) on an
# x86-64 Debian machine, and run them under user-mode emulation.
#
#   apt-get install g++-aarch64-linux-gnu qemu-user googletest
#   cmake -S . -B build-arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DCMAKE_PREFIX_PATH=<GoogleTest built for aarch64> -DPOSENC_BUILD_TESTS=ON
#
# Header-only dependencies (xsimd, Eigen, nlohmann-json) are the host's Debian packages: their
# headers are architecture-independent. GoogleTest must be built for the target (Debian ships its
# sources in the `googletest` package, /usr/src/googletest); .ci/run's `aarch64` section does it.
# CMAKE_CROSSCOMPILING_EMULATOR lets gtest_discover_tests and CTest run the binaries under
# qemu-aarch64 with the cross toolchain's sysroot (-L /usr/aarch64-linux-gnu).
# xsimd picks neon64 from the target (__aarch64__): the kernels run NEON.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(POSENC_AARCH64_TRIPLE aarch64-linux-gnu CACHE STRING "cross toolchain prefix")
set(CMAKE_C_COMPILER ${POSENC_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${POSENC_AARCH64_TRIPLE}-g++)
set(POSENC_AARCH64_SYSROOT /usr/${POSENC_AARCH64_TRIPLE} CACHE PATH "target libraries")

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;${POSENC_AARCH64_SYSROOT})

# Programs from the host; libraries from the target; headers and CMake packages from both (the
# header-only packages live in the host's /usr/include and /usr/lib/x86_64-linux-gnu/cmake).
set(CMAKE_FIND_ROOT_PATH ${POSENC_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
list(APPEND CMAKE_PREFIX_PATH /usr/lib/x86_64-linux-gnu/cmake)
