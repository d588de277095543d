#!/usr/bin/env bash
# Transport efficiency: the pipeline in-process against the same pipeline behind
# maskfeed-server over a Unix socket and loopback TCP (1 and 2 streams, batch 128, packed and
# plain encodings), and a plain Unix-socket copy of the same bytes between two processes (the
# transport's ceiling here), all in one run.
#
# This machine's shared cores drift by +-15-25% from one second to the next, so a single
# in-process run against a single socket run can read anywhere from 0.4 to 0.7. Every
# measurement is therefore taken ROUNDS times (default 3), the configurations alternating
# within each round, and the summary compares medians. Prints one JSON line per measurement
# (with "round"), then the summary line with the ratios the README quotes
# (in_process_tensor_bytes_over_socket: what the pipeline alone produces, with no transport
# at all, against the socket copy).
#   bench/transport_efficiency.sh DATA_DIR [BATCHES] [ROUNDS]
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
data=${1:?usage: bench/transport_efficiency.sh DATA_DIR [BATCHES] [ROUNDS]}
batches=${2:-300}
rounds=${3:-3}
build=${BUILD_DIR:-build}
threads=$(nproc)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
field() { grep -o "\"$1\": [0-9.]*" | tail -1 | awk '{print $2}'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$build/server/maskfeed-server" --data "$data" --threads "$threads" --metrics-listen off \
  --listen "unix:$work/feed.sock" --listen 127.0.0.1:0 2>"$work/server.log" &
server=$!
for _ in $(seq 600); do grep -q "event=ready" "$work/server.log" && break; sleep 0.1; done
grep -q "event=ready" "$work/server.log" || { cat "$work/server.log" >&2; exit 1; }
tcp=$(grep -o "event=listening address=127.0.0.1:[0-9]*" "$work/server.log" | cut -d= -f3)

# Per configuration, the space-separated values of every round.
declare -A sps bps wire
for ((round = 1; round <= rounds; round++)); do
  for streams in 1 2; do
    line=$("$build/client/cpp/maskfeed" bench --in-process --data "$data" --threads "$threads" \
      --streams "$streams" --batches "$batches" --json 2>/dev/null | tail -1)
    echo "${line%\}}, \"round\": $round}"
    sps[inproc-$streams]+=" $(field samples_per_s <<<"$line")"
    bps[inproc-$streams]+=" $(field bytes_per_s <<<"$line")"
    for address in "unix:$work/feed.sock" "$tcp"; do
      kind=tcp; [[ $address == unix:* ]] && kind=unix
      for encoding in packed plain; do
        before=$(cpu_ticks "$server")
        line=$("$build/client/cpp/maskfeed" bench --address "$address" --streams "$streams" \
          --batches "$batches" --encoding "$encoding" --json 2>/dev/null | tail -1)
        after=$(cpu_ticks "$server")
        echo "${line%\}}, \"transport\": \"$kind\", \"server_cpu_s\": $(awk -v t=$((after - before)) 'BEGIN {print t / 100}'), \"round\": $round}"
        sps[$kind-$encoding-$streams]+=" $(field samples_per_s <<<"$line")"
        bps[$kind-$encoding-$streams]+=" $(field bytes_per_s <<<"$line")"
        wire[$kind-$encoding-$streams]+=" $(field wire_bytes_per_s <<<"$line")"
      done
    done
    line=$("$build/bench/maskfeed-bench-socket" --streams "$streams" --messages "$batches")
    echo "${line%\}}, \"round\": $round}"
    sps[socket-$streams]+=" $(field bytes_per_s <<<"$line")"
  done
done

m() { median <<<"$1"; }
awk -v ip1="$(m "${sps[inproc-1]}")" -v ip2="$(m "${sps[inproc-2]}")" \
    -v up1="$(m "${sps[unix-packed-1]}")" -v up2="$(m "${sps[unix-packed-2]}")" \
    -v ul1="$(m "${sps[unix-plain-1]}")" -v ul2="$(m "${sps[unix-plain-2]}")" \
    -v tp1="$(m "${sps[tcp-packed-1]}")" -v tp2="$(m "${sps[tcp-packed-2]}")" \
    -v ub1="$(m "${bps[unix-packed-1]}")" -v ub2="$(m "${bps[unix-packed-2]}")" \
    -v lw1="$(m "${wire[unix-plain-1]}")" -v lw2="$(m "${wire[unix-plain-2]}")" \
    -v ib1="$(m "${bps[inproc-1]}")" -v ib2="$(m "${bps[inproc-2]}")" \
    -v s1="$(m "${sps[socket-1]}")" -v s2="$(m "${sps[socket-2]}")" \
    -v rounds="$rounds" -v c="$(nproc)" 'BEGIN {
  printf "{\"bench\": \"transport_efficiency\", \"threads\": %d, \"rounds\": %d, ", c, rounds
  printf "\"in_process_samples_per_s\": [%.0f, %.0f], ", ip1, ip2
  printf "\"unix_packed_samples_per_s\": [%.0f, %.0f], ", up1, up2
  printf "\"unix_packed_over_in_process\": [%.2f, %.2f], ", up1 / ip1, up2 / ip2
  printf "\"unix_plain_over_in_process\": [%.2f, %.2f], ", ul1 / ip1, ul2 / ip2
  printf "\"tcp_packed_over_in_process\": [%.2f, %.2f], ", tp1 / ip1, tp2 / ip2
  printf "\"unix_packed_tensor_bytes_over_socket\": [%.2f, %.2f], ", ub1 / s1, ub2 / s2
  printf "\"unix_plain_wire_bytes_over_socket\": [%.2f, %.2f], ", lw1 / s1, lw2 / s2
  printf "\"in_process_tensor_bytes_over_socket\": [%.2f, %.2f], ", ib1 / s1, ib2 / s2
  printf "\"socket_bytes_per_s\": [%.0f, %.0f], \"cores\": %d}\n", s1, s2, c
}'
