# posenc compile-fail / compile-clean checks (tests/compile_fail/*.cpp). Each source names its
# expectation in its first lines:
#   // std: c++17                      the -std flag
#   // flags: -Wsign-conversion        extra flags (optional)
#   // expect-error: <regex>           must fail, and the FIRST error line must match <regex>
#   // expect-clean                    must compile without a diagnostic
# Invoked as: cmake -DCXX=<compiler> -DINCLUDE=<dir> -DSRC=<file> -P run.cmake
file(STRINGS "${SRC}" _head LIMIT_COUNT 6)
set(_std "c++17")
set(_flags)
set(_expect)
set(_clean OFF)
foreach(_line IN LISTS _head)
  if(_line MATCHES "^// std: (.*)$")
    set(_std "${CMAKE_MATCH_1}")
  elseif(_line MATCHES "^// flags: (.*)$")
    separate_arguments(_flags UNIX_COMMAND "${CMAKE_MATCH_1}")
  elseif(_line MATCHES "^// expect-error: (.*)$")
    set(_expect "${CMAKE_MATCH_1}")
  elseif(_line MATCHES "^// expect-clean")
    set(_clean ON)
  endif()
endforeach()
execute_process(
  COMMAND "${CXX}" -std=${_std} -fsyntax-only -Wall -Wextra ${_flags} -I "${INCLUDE}" "${SRC}"
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(_clean)
  if(NOT _rc EQUAL 0 OR NOT _err STREQUAL "")
    message(FATAL_ERROR "${SRC}: expected a clean compile, got (rc ${_rc}):\n${_err}")
  endif()
  message(STATUS "${SRC}: compiles cleanly")
  return()
endif()
if(_rc EQUAL 0)
  message(FATAL_ERROR "${SRC}: compiled, but an error matching '${_expect}' was expected")
endif()
string(REGEX MATCH "error: [^\n]*" _first "${_err}")
if(NOT _first MATCHES "${_expect}")
  message(FATAL_ERROR "${SRC}: the first error is not the library's message '${_expect}':\n"
                      "${_first}\n(full output:)\n${_err}")
endif()
message(STATUS "${SRC}: first error: ${_first}")
