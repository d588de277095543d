#!/usr/bin/env bash
# Holds libraries to their allowed dependencies. Each BINARY links one library whose layering
# matters (and, with --no-as-needed, every shared library on that library's link line): none of
# its shared libraries (readelf's NEEDED entries) may match LIBS, and none of its symbols (what
# the static libraries brought in) may match SYMBOLS.
#   check_link_lines.sh BINARY LIBS SYMBOLS [BINARY LIBS SYMBOLS]...
# LIBS and SYMBOLS are extended regular expressions; "-" checks nothing.
set -euo pipefail
status=0
while [ $# -ge 3 ]; do
  binary=$1 libs=$2 symbols=$3
  shift 3
  needed=$(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  if [ -z "$needed" ]; then
    echo "FAIL $binary: readelf found no NEEDED entries"; status=1; continue
  fi
  bad_libs= bad_symbols=
  [ "$libs" != - ] && bad_libs=$(grep -E "$libs" <<<"$needed" || true)
  [ "$symbols" != - ] && bad_symbols=$(nm -C "$binary" | grep -E "$symbols" || true)
  if [ -n "$bad_libs" ] || [ -n "$bad_symbols" ]; then
    echo "FAIL $(basename "$binary") links what its library must not:"
    [ -n "$bad_libs" ] && echo "$bad_libs" | sed 's/^/  library /'
    [ -n "$bad_symbols" ] && echo "$bad_symbols" | head -5 | sed 's/^/  symbol /'
    status=1
  else
    echo "ok   $(basename "$binary"): $(echo $needed | tr '\n' ' ')"
  fi
done
if [ $# -ne 0 ]; then echo "usage: check_link_lines.sh (BINARY LIBS SYMBOLS)..." >&2; exit 2; fi
exit $status
