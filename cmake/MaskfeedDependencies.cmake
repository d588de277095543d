# Every third-party dependency, found once, as imported targets. All come from Debian
# packages (see scripts/install-deps.sh).

find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(TBB CONFIG REQUIRED)
find_package(zstd CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)           # libcrypto: SHA-256
find_package(ZLIB REQUIRED)              # CRC-32 of .npz members
find_package(nlohmann_json 3 REQUIRED)   # JSON files, CLI and benchmark output, JSON errors
find_package(simdjson CONFIG REQUIRED)   # 4M's per-sample JSON members (the hot path)
find_package(JPEG REQUIRED)              # libjpeg-turbo: 4M image members
find_package(PNG REQUIRED)               # libpng: 4M image members
find_package(yaml-cpp REQUIRED)          # 4M's YAML configs
find_package(CURL REQUIRED)              # libcurl: object storage over HTTP(S)
find_package(EXPAT REQUIRED)             # expat: S3's XML listings and errors
# 4M's .npz members (t5_caption). Through pkg-config: Debian's libzip CMake config names the
# zipcmp tools, which libzip-dev does not install.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)

find_program(MASKFEED_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

if(MASKFEED_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(MASKFEED_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

# The CUDA compaction kernel is optional: built when nvcc works, skipped otherwise.
set(MASKFEED_WITH_CUDA OFF)
if(NOT MASKFEED_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(MASKFEED_WITH_CUDA ON)
  elseif(MASKFEED_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MASKFEED_CUDA=ON but no working nvcc was found")
  endif()
endif()
message(STATUS "maskfeed: CUDA compaction kernel ${MASKFEED_WITH_CUDA}")
