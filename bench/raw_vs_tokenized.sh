#!/usr/bin/env bash
# 4M's raw layout against the same samples pre-tokenized, in-process on one thread: two
# synthetic 4M-7 datasets of the same seed (synth --preset 4m-7-tokens, and synth: caption
# and det JSON built and tokenized per sample and crop with the dataset's tokenizer, rgb JPEG
# headers read for det's sizes), each streamed with preset 4m-7-tokens (no pixels: the text
# path alone) by `maskfeed bench
# --in-process --threads 1`, alternating ROUNDS times; prints every JSON line and a summary
# with the medians and their ratio.
#   bench/raw_vs_tokenized.sh [SAMPLES] [ROUNDS]
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
samples=${1:-4000}
rounds=${2:-5}
build=${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tools/maskfeed-shard" synth --preset 4m-7-tokens --samples "$samples" --shards 4 \
  --format mfs --out "$work/tokenized" >/dev/null 2>&1
"$build/tools/maskfeed-shard" synth --samples "$samples" --shards 4 --format mfs \
  --out "$work/raw" >/dev/null 2>&1
field() { grep -o "\"$1\": *[0-9.]*" | tail -1 | sed 's/.*: *//'; }
run() {
  taskset -c 0 "$build/client/cpp/maskfeed" bench --in-process --data "$work/$1" --threads 1 \
    --batches 200 --batch-size 128 --json --preset 4m-7-tokens --text-tokenizer "$work/raw/tokenizer.json" \
    --main-augment-domain rgb@224 | tail -1
}
tokenized=() raw=()
for _ in $(seq "$rounds"); do
  line=$(run tokenized); echo "$line"; tokenized+=("$(echo "$line" | field samples_per_s)")
  line=$(run raw); echo "$line"; raw+=("$(echo "$line" | field samples_per_s)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
t=$(median "${tokenized[@]}")
r=$(median "${raw[@]}")
echo "{\"bench\": \"raw_vs_tokenized\", \"tokenized_samples_per_s\": $t, \"raw_samples_per_s\": $r, \"raw_over_tokenized\": $(awk "BEGIN {printf \"%.2f\", $r / $t}"), \"threads\": 1, \"cores\": $(nproc)}"
