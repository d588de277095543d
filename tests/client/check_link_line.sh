#!/usr/bin/env bash
# Checks that client binaries link no part of the server pipeline: no TBB, zstd or Boost among
# their shared libraries (readelf's NEEDED entries), and none of the pipeline's classes among
# their symbols (a static library would bring those in without a NEEDED entry).
#   check_link_line.sh BINARY...
set -euo pipefail
status=0
for binary in "$@"; do
  needed=$(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  if [ -z "$needed" ]; then
    echo "FAIL $binary: readelf found no NEEDED entries"; status=1; continue
  fi
  bad_libs=$(grep -E 'libtbb|libzstd|libboost' <<<"$needed" || true)
  symbols=$(nm -C "$binary" | grep -E 'maskfeed::(Masker|Dataset|StreamSource|Stream::|Collator|ShardReader|MfsShardReader|TarShardReader|BatchProducer)' || true)
  if [ -n "$bad_libs" ] || [ -n "$symbols" ]; then
    echo "FAIL $binary links the pipeline:"
    [ -n "$bad_libs" ] && echo "$bad_libs" | sed 's/^/  library /'
    [ -n "$symbols" ] && echo "$symbols" | head -5 | sed 's/^/  symbol /'
    status=1
  else
    echo "ok   $binary: $(echo $needed | tr '\n' ' ')"
  fi
done
exit $status
