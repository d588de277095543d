#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs the demo.
#
# Today the demo synthesizes a 4M-7-shaped dataset in 4M's tar layout, converts it to the
# native .mfs format, verifies both, prints what they hold, then streams masked batches from
# it in-process and prints the throughput. (Once the server lands, the same command starts it
# on that data and streams batches over gRPC.)
#   MASKFEED_DEMO_DIR   where the demo data lives (default: .cache/demo)
#   MASKFEED_DEMO_SAMPLES (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# Only the two programs: configuring without tests would leave a developer's build/ with stale
# test binaries.
BUILD_TARGETS="maskfeed maskfeed-shard" scripts/build.sh

shard=build/tools/maskfeed-shard
demo=${MASKFEED_DEMO_DIR:-.cache/demo}
samples=${MASKFEED_DEMO_SAMPLES:-20000}
rm -rf "$demo/tar" "$demo/mfs"
mkdir -p "$demo"

echo "== synthesize $samples 4m-7 samples (4M tar layout) =="
"$shard" synth --preset 4m-7 --samples "$samples" --shards 8 --out "$demo/tar"
echo "== convert to native .mfs shards =="
"$shard" convert "$demo/tar" "$demo/mfs"
echo "== verify both =="
"$shard" verify "$demo/tar"
"$shard" verify "$demo/mfs"
echo "== one shard =="
"$shard" inspect "$demo/mfs/tok_rgb@224/shard-00000.mfs"
echo "== the dataset =="
"$shard" inspect "$demo/mfs"
echo "== stream 4m-7 masked batches from it (in-process, all cores) =="
build/client/cpp/maskfeed bench --in-process --data "$demo/mfs" --preset 4m-7 --batches 200 --json
