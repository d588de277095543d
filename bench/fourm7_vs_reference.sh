#!/usr/bin/env bash
# The real 4M-7 (rgb@224 pixels + caption/det JSON + five tok_*) end to end, against a
# stand-in for 4M's own loader (bench/fourm7_reference.py: Pillow, torch, numpy, as 4M does
# it, tokenization untimed) on the same synthetic raw 4M-7 tar shards (maskfeed-shard synth,
# 3 crops). Prints every JSON line, then a summary:
#   reference, 1 core          fourm7_reference.py (taskset core 0)
#   in-process, 1 thread, exact and fast pixels           maskfeed bench --in-process
#     (these three alternate ROUNDS times; the summary has their medians)
#   in-process, 2 threads, exact and fast pixels
#   over a Unix socket to the Python Feed (4M's float32 pixels), exact, server on 2 threads
#   bench/fourm7_vs_reference.sh [SAMPLES] [BATCHES] [ROUNDS]
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
samples=${1:-600}
batches=${2:-20}
rounds=${3:-3}
build=${BUILD_DIR:-build}
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"$build/tools/maskfeed-shard" synth --samples "$samples" --shards 4 --crops 3 --format tar \
  --out "$work/d" >/dev/null 2>&1
field() { grep -o "\"$1\": *[0-9.]*" | tail -1 | sed 's/.*: *//'; }

run() {  # cpus threads [--fast-pixels]
  taskset -c "$1" "$build/client/cpp/maskfeed" bench --in-process --data "$work/d" \
    --threads "$2" --batches "$batches" --batch-size 64 --json ${3:-} | tail -1
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
# One core: the reference and maskfeed exact and fast, alternating, ROUNDS times (the shared
# cores of a VM drift between runs); medians.
refs=() exact=() fast=()
for _ in $(seq "$rounds"); do
  line=$(taskset -c 0 /usr/bin/python3 bench/fourm7_reference.py "$work/d" \
    "$work/d/tokenizer.json" "$build/client/cpp/maskfeed" $((batches * 32)) 64)
  echo "$line"; refs+=("$(echo "$line" | field samples_per_s)")
  line=$(run 0 1); echo "$line"; exact+=("$(echo "$line" | field samples_per_s)")
  line=$(run 0 1 --fast-pixels); echo "$line"; fast+=("$(echo "$line" | field samples_per_s)")
done
reference=$(median "${refs[@]}")
declare -A rate
rate[exact-1]=$(median "${exact[@]}")
rate[fast-1]=$(median "${fast[@]}")
line=$(run 0,1 2); echo "$line"; rate[exact-2]=$(echo "$line" | field samples_per_s)
line=$(run 0,1 2 --fast-pixels); echo "$line"; rate[fast-2]=$(echo "$line" | field samples_per_s)

socket="unix:$work/feed.sock"
"$build/server/maskfeed-server" --data "$work/d" --listen "$socket" --metrics-listen off \
  --threads 2 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do grep -q "event=ready" "$work/server.log" && break; sleep 0.1; done
feed_line=$(PYTHONPATH="$build/client/python" /usr/bin/python3 bench/python_feed_bench.py \
  --address "$socket" --batches "$batches" --batch-size 64 --output torch)
echo "$feed_line"
feed=$(echo "$feed_line" | field samples_per_s)

ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
echo "{\"bench\": \"fourm7_vs_reference\", \"reference_samples_per_s\": $reference," \
  "\"exact_1_thread\": ${rate[exact-1]}, \"exact_2_threads\": ${rate[exact-2]}," \
  "\"fast_1_thread\": ${rate[fast-1]}, \"fast_2_threads\": ${rate[fast-2]}," \
  "\"exact_over_reference\": $(ratio "${rate[exact-1]}" "$reference")," \
  "\"fast_over_reference\": $(ratio "${rate[fast-1]}" "$reference")," \
  "\"exact_scaling_2_threads\": $(ratio "${rate[exact-2]}" "${rate[exact-1]}")," \
  "\"unix_socket_python_feed\": $feed, \"cores\": $(nproc)}"
