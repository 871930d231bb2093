# posenc packaging test: configure a fresh build directory the way a user who only wants the
# headers would (no GoogleTest, Benchmark or nlohmann_json visible), then `cmake --install`
# without building. Headers, the package config and the version file must land in the prefix.
# Usage: cmake -DSRC=<source> -DWORK=<scratch dir> -DGENERATOR=<gen> -DCXX=<compiler> -P this
foreach(v SRC WORK GENERATOR CXX)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "install_no_build.cmake: -D${v}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
set(build "${WORK}/build")
set(prefix "${WORK}/prefix")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SRC}" -B "${build}" -G "${GENERATOR}"
          "-DCMAKE_CXX_COMPILER=${CXX}"
          -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON
          -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
          -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "GoogleTest not found, tests off")
  message(FATAL_ERROR "configure did not report that tests are off without GoogleTest:\n${out}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install without a build failed (${rc}):\n${out}\n${err}")
endif()
foreach(f include/posenc/posenc.hpp include/posenc/bipe.hpp share/cmake/posenc/posencConfig.cmake
          share/cmake/posenc/posencConfigVersion.cmake share/cmake/posenc/posencTargets.cmake)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()
# posenc::dispatch (ON by default at top level) was not built: neither its library nor its
# export files may be installed, or find_package(posenc) would fail on the missing library.
file(GLOB _dispatch_exports "${prefix}/share/cmake/posenc/posencDispatchTargets*.cmake")
if(_dispatch_exports)
  message(FATAL_ERROR "export files of the unbuilt posenc::dispatch installed: ${_dispatch_exports}")
endif()
if(NOT EXISTS "${prefix}/include/posenc/dispatch.hpp" OR NOT EXISTS "${prefix}/include/posenc/posenc.h")
  message(FATAL_ERROR "the dispatch headers were not installed")
endif()
message(STATUS "install without build: headers and package files in ${prefix}")
