# Compiler flags shared by every maskfeed target, and the sanitizer option.

add_library(maskfeed_build_flags INTERFACE)
target_compile_options(maskfeed_build_flags INTERFACE -Wall -Wextra -Wno-unused-parameter)

if(MASKFEED_SANITIZE)
  if(NOT MASKFEED_SANITIZE MATCHES "^(address,undefined|address|undefined|thread)$")
    message(FATAL_ERROR "MASKFEED_SANITIZE must be 'address,undefined' or 'thread', "
                        "got '${MASKFEED_SANITIZE}'")
  endif()
  message(STATUS "maskfeed: building with -fsanitize=${MASKFEED_SANITIZE}")
  target_compile_options(maskfeed_build_flags INTERFACE
      -fsanitize=${MASKFEED_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(maskfeed_build_flags INTERFACE -fsanitize=${MASKFEED_SANITIZE})
endif()

# libFuzzer targets (fuzz/): clang only; every maskfeed target gets coverage instrumentation so
# the fuzzers see into the decoders they call. Pair with MASKFEED_SANITIZE=address,undefined.
if(MASKFEED_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MASKFEED_FUZZ needs clang (CXX=clang++): libFuzzer is clang's")
  endif()
  message(STATUS "maskfeed: building the libFuzzer targets")
  target_compile_options(maskfeed_build_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
