#!/usr/bin/env bash
# Configures and builds maskfeed into BUILD_DIR (default: build). Extra arguments go to cmake;
# BUILD_TARGETS limits what is built (the configuration stays the same).
#   scripts/build.sh                     # RelWithDebInfo, tests and benchmarks
#   BUILD_DIR=build-asan scripts/build.sh -DMASKFEED_SANITIZE=address,undefined
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" ${BUILD_TARGETS:+--target $BUILD_TARGETS}
