# toolchain-aarch64-clang.cmake: as toolchain-aarch64.cmake (the same sysroot, libraries, qemu
# emulator and GoogleTest built for the target), with clang++ targeting aarch64-linux-gnu as
# the compiler; Debian's g++-aarch64-linux-gnu still provides libstdc++, glibc and binutils.
#
#   apt-get install clang g++-aarch64-linux-gnu qemu-user googletest
#   cmake -S . -B build-arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-clang.cmake \
#         -DCMAKE_PREFIX_PATH=<GoogleTest built for aarch64> -DPOSENC_BUILD_TESTS=ON
#
# Why: xsimd 8.1's NEON operators (a tuple of function pointers built per integer operation)
# take g++ 12 about twice as long to instantiate as clang 14 (tests/rope_test.cpp: 24.9 s vs
# 13.7 s here), and .ci/run's aarch64 section compiles every unit test.
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-aarch64.cmake)
set(POSENC_AARCH64_CLANG clang CACHE STRING "clang driver (C); the C++ one is its name with ++")
set(CMAKE_C_COMPILER ${POSENC_AARCH64_CLANG})
set(CMAKE_CXX_COMPILER ${POSENC_AARCH64_CLANG}++)
set(CMAKE_C_COMPILER_TARGET ${POSENC_AARCH64_TRIPLE})
set(CMAKE_CXX_COMPILER_TARGET ${POSENC_AARCH64_TRIPLE})
