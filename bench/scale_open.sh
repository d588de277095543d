#!/usr/bin/env bash
# Opening at scale: synthetic pre-tokenized 4M-7 datasets (synth --preset 4m-7-tokens, 1,000
# samples a shard) of SMALL_MFS and LARGE_MFS samples as .mfs and SMALL_TAR and LARGE_TAR as
# tar, each opened by `maskfeed bench --in-process` (2 threads, batch 128) with the page cache
# dropped first where the machine allows it (else said so), in global-shuffle and windowed
# (--window-shards 8) order. Prints each run's JSON line (open_seconds, open_rss_anon_mb,
# samples_per_s), one line per kind and order with what grows from the small to the large
# dataset per sample, and that slope carried to 700 M samples (COYO) — an extrapolation from
# two sizes, labelled as one.
#   bench/scale_open.sh [SMALL_MFS LARGE_MFS SMALL_TAR LARGE_TAR]   (default 50000 1000000 10000 200000)
# Needs ~4 GB of disk under TMPDIR for the defaults.
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
small_mfs=${1:-50000} large_mfs=${2:-1000000} small_tar=${3:-10000} large_tar=${4:-200000}
build=${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
field() { grep -o "\"$1\": *[0-9.]*" | tail -1 | sed 's/.*: *//'; }
drop_caches() {
  sync
  if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    echo "scale_open: cannot drop the page cache here (not root?): opens are warm" >&2
  fi
}
synth() {  # FORMAT SAMPLES
  local out="$work/$1-$2"
  "$build/tools/maskfeed-shard" synth --preset 4m-7-tokens --samples "$2" \
    --shards $(( ($2 + 999) / 1000 )) --format "$1" --out "$out" --threads "$(nproc)" >/dev/null 2>&1
  echo "$out"
}
run() {  # DIR ORDER -> the JSON line
  local extra=()
  [ "$2" = windowed ] && extra=(--window-shards 8)
  drop_caches
  "$build/client/cpp/maskfeed" bench --in-process --data "$1" --threads 2 --batches 200 \
    --batch-size 128 --json "${extra[@]}" | tail -1
}
for kind in mfs tar; do
  if [ "$kind" = mfs ]; then small=$small_mfs large=$large_mfs; else small=$small_tar large=$large_tar; fi
  small_dir=$(synth "$kind" "$small")
  large_dir=$(synth "$kind" "$large")
  for order in global windowed; do
    a=$(run "$small_dir" "$order"); echo "{\"dataset\": \"$kind\", \"samples\": $small, \"order\": \"$order\", \"run\": $a}"
    b=$(run "$large_dir" "$order"); echo "{\"dataset\": \"$kind\", \"samples\": $large, \"order\": \"$order\", \"run\": $b}"
    awk -v kind="$kind" -v order="$order" -v n1="$small" -v n2="$large" \
      -v t1="$(echo "$a" | field open_seconds)" -v t2="$(echo "$b" | field open_seconds)" \
      -v m1="$(echo "$a" | field open_rss_anon_mb)" -v m2="$(echo "$b" | field open_rss_anon_mb)" \
      -v s1="$(echo "$a" | field samples_per_s)" -v s2="$(echo "$b" | field samples_per_s)" \
      -v cores="$(nproc)" 'BEGIN {
        bytes = (m2 - m1) * 1048576 / (n2 - n1); secs = (t2 - t1) / (n2 - n1);
        printf "{\"bench\": \"scale_open\", \"dataset\": \"%s\", \"order\": \"%s\", \"small\": %d, \"large\": %d, \"rss_growth_mb\": %.1f, \"rss_bytes_per_sample\": %.1f, \"open_seconds_small\": %.3f, \"open_seconds_large\": %.3f, \"steady_large_over_small\": %.3f, \"extrapolated_700m_open_seconds\": %.0f, \"extrapolated_700m_rss_gb\": %.1f, \"cores\": %d}\n",
          kind, order, n1, n2, m2 - m1, bytes, t1, t2, s2 / s1, t1 + secs * (700e6 - n1),
          (m1 * 1048576 + bytes * (700e6 - n1)) / 1e9, cores }'
  done
  rm -rf "$small_dir" "$large_dir"
done
