# posencBuildFlags.cmake: flags for posenc's own tests, benchmarks and examples.
# Never exported or installed: consumers of posenc::posenc choose their own flags.
#
# Defines INTERFACE targets (link them PRIVATE):
#   posenc_build_warnings  -Wall -Wextra -Wpedantic (+ -Werror if POSENC_WERROR)
#   posenc_build_native    -march=native if POSENC_NATIVE (and the compiler accepts it)
#   posenc_build_sanitize  -fsanitize=${POSENC_SANITIZE} -fno-sanitize-recover=all (tests only)
# and the variable POSENC_TARGET_IS_X86 (TRUE on x86 / x86_64).

include_guard(GLOBAL)
include(CheckCXXCompilerFlag)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|x64|i[3-6]86|x86)$")
  set(POSENC_TARGET_IS_X86 TRUE)
else()
  set(POSENC_TARGET_IS_X86 FALSE)
endif()

# --- warnings ---
add_library(posenc_build_warnings INTERFACE)
if(MSVC)
  target_compile_options(posenc_build_warnings INTERFACE /W4 /permissive-)
  if(POSENC_WERROR)
    target_compile_options(posenc_build_warnings INTERFACE /WX)
  endif()
else()
  target_compile_options(posenc_build_warnings INTERFACE -Wall -Wextra -Wpedantic)
  if(POSENC_WERROR)
    target_compile_options(posenc_build_warnings INTERFACE -Werror)
  endif()
endif()

# --- -march=native ---
add_library(posenc_build_native INTERFACE)
if(POSENC_NATIVE)
  check_cxx_compiler_flag("-march=native" POSENC_COMPILER_HAS_MARCH_NATIVE)
  if(POSENC_COMPILER_HAS_MARCH_NATIVE)
    target_compile_options(posenc_build_native INTERFACE -march=native)
  else()
    message(WARNING "posenc: POSENC_NATIVE=ON but ${CMAKE_CXX_COMPILER_ID} does not accept "
                    "-march=native; building for the baseline ISA")
  endif()
endif()

# --- sanitizers (tests only) ---
add_library(posenc_build_sanitize INTERFACE)
if(POSENC_SANITIZE)
  set(_posenc_san_flags -fsanitize=${POSENC_SANITIZE} -fno-sanitize-recover=all
                        -fno-omit-frame-pointer)
  target_compile_options(posenc_build_sanitize INTERFACE ${_posenc_san_flags})
  target_link_options(posenc_build_sanitize INTERFACE ${_posenc_san_flags})
  message(STATUS "posenc: tests built with -fsanitize=${POSENC_SANITIZE}")
  unset(_posenc_san_flags)
endif()
