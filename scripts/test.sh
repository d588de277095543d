#!/usr/bin/env bash
# README command 2: installs dependencies, builds, and runs every test; then repeats the tests
# under AddressSanitizer + UndefinedBehaviorSanitizer (skip with MASKFEED_SANITIZER_TESTS=0),
# runs every fuzz target for MASKFEED_FUZZ_SECONDS (default 20; 0 skips) and the one-minute
# chaos test (MASKFEED_CHAOS_SECONDS, default 60; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The object-storage tests run real servers; say so loudly where one is missing (they skip).
if ! command -v moto_server >/dev/null && [ -z "${MASKFEED_MOTO_SERVER:-}" ]; then
  echo "************************************************************************" >&2
  echo "*** moto_server NOT FOUND: the S3 tests will be SKIPPED (install moto) ***" >&2
  echo "************************************************************************" >&2
fi
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ -z "${MASKFEED_NGINX:-}" ]; then
  echo "************************************************************************" >&2
  echo "*** nginx NOT FOUND: the HTTP(S) storage tests will be SKIPPED         ***" >&2
  echo "************************************************************************" >&2
fi
scripts/build.sh -DMASKFEED_BUILD_TESTS=ON
(cd build && ctest --output-on-failure -j"$(nproc)")

chaos_seconds=${MASKFEED_CHAOS_SECONDS:-60}
if [ "$chaos_seconds" != 0 ]; then
  echo "== chaos test, ${chaos_seconds} s ==" >&2
  /usr/bin/python3 tests/chaos/chaos.py --seconds "$chaos_seconds" --build build
fi

if [ "${MASKFEED_SANITIZER_TESTS:-1}" != 0 ]; then
  echo "== tests under -fsanitize=address,undefined ==" >&2
  BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DMASKFEED_BUILD_TESTS=ON \
    -DMASKFEED_BUILD_BENCH=OFF -DMASKFEED_SANITIZE=address,undefined -DMASKFEED_CUDA=OFF
  (cd build-asan && ctest --output-on-failure -j"$(nproc)")
fi

fuzz_seconds=${MASKFEED_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzz targets under -fsanitize=address,undefined, ${fuzz_seconds} s each ==" >&2
  MASKFEED_FUZZ_SEED=${MASKFEED_FUZZ_SEED:-1} scripts/fuzz.sh all "$fuzz_seconds"
fi
