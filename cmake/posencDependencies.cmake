# posencDependencies.cmake: finds posenc's optional SIMD dependency (xsimd 8).
#
# Used twice, so that posenc's own build and its consumers see the same thing:
#   - by posenc's CMakeLists.txt (the build and add_subdirectory / FetchContent), and
#   - by the installed / build-tree posencConfig.cmake (find_package(posenc)).
#
# Input:  _posenc_want_xsimd  (TRUE/FALSE; defaults to TRUE)
# Result: target `xsimd` exists if xsimd was wanted and found.
#
# Debian 12's libxsimd-dev 8.1 exports its target with INTERFACE_LINK_LIBRARIES "xtl", but xtl is
# neither required by xsimd 8 nor installed with it (xtl-dev is a separate package). Without a
# target named `xtl`, CMake turns that item into `-lxtl` and every executable linking xsimd fails
# with "cannot find -lxtl". If xsimd names xtl and no such target exists, we use xtl's own package
# when it is installed, and otherwise create an empty INTERFACE IMPORTED stand-in named `xtl`.
# The stand-in is GLOBAL so that it is visible from every directory of the consuming project.
#
# This file is idempotent: it can be included any number of times, from any directory.

if(NOT DEFINED _posenc_want_xsimd)
  set(_posenc_want_xsimd TRUE)
endif()

if(_posenc_want_xsimd AND NOT TARGET xsimd)
  find_package(xsimd 8 CONFIG QUIET)
endif()

if(_posenc_want_xsimd AND TARGET xsimd)
  get_target_property(_posenc_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_posenc_xsimd_links AND "xtl" IN_LIST _posenc_xsimd_links AND NOT TARGET xtl)
    find_package(xtl CONFIG QUIET)
    if(NOT TARGET xtl)
      # Debian 12 export bug: xsimd links a plain "xtl" that does not exist. Stand in for it.
      add_library(xtl INTERFACE IMPORTED GLOBAL)
    endif()
  endif()
  unset(_posenc_xsimd_links)
endif()
