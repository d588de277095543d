#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs the demo: maskfeed-server serving
# the real 4M-7 recipe on its embedded dataset in 4M's raw layout (rgb JPEGs decoded to
# pixels, caption and det JSON tokenized, five tok_* modalities; synthesized into a cache on
# first start), a streaming client that prints throughput, a preview of one batch's masks over
# its pixels, and a clean shutdown of the server.
#   MASKFEED_CACHE_DIR  where the demo dataset is cached (default: .cache/maskfeed)
#   MASKFEED_DEMO_BATCHES  batches per stream (default 40)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# Only the programs the demo runs: configuring without tests would leave a developer's build/
# with stale test binaries.
BUILD_TARGETS="maskfeed maskfeed-server maskfeed-shard" scripts/build.sh

export MASKFEED_CACHE_DIR=${MASKFEED_CACHE_DIR:-$PWD/.cache/maskfeed}
batches=${MASKFEED_DEMO_BATCHES:-40}
run=$(mktemp -d)
socket="unix:$run/feed.sock"
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; fi
  rm -rf "$run"
}
trap cleanup EXIT

echo "== start maskfeed-server (embedded demo) on $socket =="
build/server/maskfeed-server --listen "$socket" --metrics-listen 127.0.0.1:0 2> >(tee "$run/server.log" >&2) &
server_pid=$!
for _ in $(seq 1200); do
  grep -q "event=ready" "$run/server.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { echo "maskfeed-server failed to start" >&2; exit 1; }
  sleep 0.1
done
grep -q "event=ready" "$run/server.log" || { echo "maskfeed-server did not become ready" >&2; exit 1; }

echo "== what it serves =="
build/client/cpp/maskfeed describe --address "$socket"

echo "== stream masked batches over gRPC: 1 stream, then 2 (ranks 0 and 1 of 2) =="
build/client/cpp/maskfeed bench --address "$socket" --streams 1 --batches "$batches"
build/client/cpp/maskfeed bench --address "$socket" --streams 2 --batches "$batches" --json

mkdir -p .cache
echo "== one batch's masks, rgb@224 crops under their patch masks: .cache/preview.svg =="
build/client/cpp/maskfeed preview --address "$socket" --rows 4 --out "$PWD/.cache/preview.svg"

echo "== stop the server (SIGTERM: drain streams, exit 0) =="
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
echo "maskfeed-server exited with status $status"
exit "$status"
