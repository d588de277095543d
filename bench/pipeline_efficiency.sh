#!/usr/bin/env bash
# Pipeline efficiency: the in-process stream (read + mask + collate) against masking alone,
# measured alternately in the same session so both see the same machine state (this
# machine's shared cores drift by +-15%). Prints one JSON line with the medians and ratios.
#   bench/pipeline_efficiency.sh DATA_DIR [ROUNDS]
set -euo pipefail
data=${1:?usage: bench/pipeline_efficiency.sh DATA_DIR [ROUNDS]}
rounds=${2:-5}
build=${BUILD_DIR:-build}
field() { grep -o "\"$1\": [0-9.]*" | tail -1 | awk '{print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one=() two=() mask=()
for ((i = 0; i < rounds; i++)); do
  mask+=("$("$build/bench/maskfeed-bench-masking" --json-only --batches 400 --repeats 1 | field samples_per_s)")
  one+=("$("$build/client/cpp/maskfeed" bench --in-process --data "$data" --threads 1 --batches 400 --json | field samples_per_s)")
  two+=("$("$build/client/cpp/maskfeed" bench --in-process --data "$data" --threads 2 --batches 400 --json | field samples_per_s)")
done
m=$(printf '%s\n' "${mask[@]}" | median)
p1=$(printf '%s\n' "${one[@]}" | median)
p2=$(printf '%s\n' "${two[@]}" | median)
awk -v m="$m" -v p1="$p1" -v p2="$p2" -v r="$rounds" -v c="$(nproc)" 'BEGIN {
  printf "{\"bench\": \"pipeline_efficiency\", \"rounds\": %d, \"masking_only_samples_per_s\": %d, ", r, m
  printf "\"pipeline_1_thread_samples_per_s\": %d, \"pipeline_2_threads_samples_per_s\": %d, ", p1, p2
  printf "\"pipeline_over_masking_per_core\": %.2f, \"scaling_1_to_2_threads\": %.2f, \"cores\": %d}\n", p1 / m, p2 / p1, c
}'
