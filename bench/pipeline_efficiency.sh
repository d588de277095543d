#!/usr/bin/env bash
# Pipeline efficiency: the in-process stream (read + mask + collate) against masking alone,
# measured alternately in the same session so both see the same machine state (this
# machine's shared cores drift by +-15%). Prints one JSON line with the medians and ratios.
#   bench/pipeline_efficiency.sh DATA_DIR [ROUNDS]
#
# Per core means on one core: the masking benchmark and the one-thread stream (its producer
# and the consuming thread together) run pinned to the same core with `taskset`. The
# one-thread stream is also measured unpinned, where its consumer wakes on the other core,
# and with two threads on both cores.
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
data=${1:?usage: bench/pipeline_efficiency.sh DATA_DIR [ROUNDS]}
rounds=${2:-5}
build=${BUILD_DIR:-build}
field() { grep -o "\"$1\": [0-9.]*" | tail -1 | awk '{print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stream() {
  "$build/client/cpp/maskfeed" bench --in-process --data "$data" --threads "$1" --batches 400 \
    --json 2>/dev/null | field samples_per_s
}
one=() free=() two=() mask=()
for ((i = 0; i < rounds; i++)); do
  mask+=("$(taskset -c 0 "$build/bench/maskfeed-bench-masking" --json-only --batches 400 \
    --repeats 1 | field samples_per_s)")
  one+=("$(taskset -c 0 bash -c "$(declare -f field stream); build=$build data=$data stream 1")")
  free+=("$(stream 1)")
  two+=("$(stream 2)")
done
m=$(printf '%s\n' "${mask[@]}" | median)
p1=$(printf '%s\n' "${one[@]}" | median)
f1=$(printf '%s\n' "${free[@]}" | median)
p2=$(printf '%s\n' "${two[@]}" | median)
awk -v m="$m" -v p1="$p1" -v f1="$f1" -v p2="$p2" -v r="$rounds" -v c="$(nproc)" 'BEGIN {
  printf "{\"bench\": \"pipeline_efficiency\", \"rounds\": %d, \"masking_only_samples_per_s\": %d, ", r, m
  printf "\"pipeline_1_thread_samples_per_s\": %d, \"pipeline_1_thread_unpinned_samples_per_s\": %d, ", p1, f1
  printf "\"pipeline_2_threads_samples_per_s\": %d, \"pipeline_over_masking_per_core\": %.2f, ", p2, p1 / m
  printf "\"pipeline_unpinned_over_masking\": %.2f, \"pipeline_2_threads_over_masking_per_core\": %.2f, ", f1 / m, p2 / 2 / m
  printf "\"scaling_1_to_2_threads\": %.2f, \"scaling_unpinned_1_to_2_threads\": %.2f, \"cores\": %d}\n", p2 / p1, p2 / f1, c
}'
