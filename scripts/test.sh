#!/usr/bin/env bash
# README command 2: installs dependencies, builds, and runs every test; then repeats the tests
# under AddressSanitizer + UndefinedBehaviorSanitizer (skip with MASKFEED_SANITIZER_TESTS=0).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh -DMASKFEED_BUILD_TESTS=ON
(cd build && ctest --output-on-failure -j"$(nproc)")

if [ "${MASKFEED_SANITIZER_TESTS:-1}" != 0 ]; then
  echo "== tests under -fsanitize=address,undefined ==" >&2
  BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DMASKFEED_BUILD_TESTS=ON \
    -DMASKFEED_BUILD_BENCH=OFF -DMASKFEED_SANITIZE=address,undefined -DMASKFEED_CUDA=OFF
  (cd build-asan && ctest --output-on-failure -j"$(nproc)")
fi
