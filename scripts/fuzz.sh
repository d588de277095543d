#!/usr/bin/env bash
# Runs a libFuzzer target under AddressSanitizer + UndefinedBehaviorSanitizer, starting from
# its seeds in fuzz/corpus/TARGET (new inputs go to a scratch corpus, not the repository).
#   scripts/fuzz.sh TARGET SECONDS     # one target, e.g. scripts/fuzz.sh mfs_fuzzer 600
#   scripts/fuzz.sh all SECONDS        # each target in turn, SECONDS each
#   scripts/fuzz.sh list               # the targets
# Builds clang's fuzz build in build-fuzz/ first (CXX=clang++; Debian's clang and
# libclang-rt-dev, which scripts/install-deps.sh installs). A finding stops the run with the
# crashing input saved as build-fuzz/findings/TARGET/crash-*; exit status 1.
# MASKFEED_FUZZ_SEED fixes libFuzzer's seed (0, the default, draws one). CI fixes it, so its
# bounded runs are a prefix of the input sequence that a longer local run with it went through.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(npy_fuzzer tar_fuzzer mfs_fuzzer config_fuzzer resume_token_fuzzer
         stream_request_fuzzer http_request_fuzzer expand_fuzzer tokenizer_fuzzer
         tokenizer_json_fuzzer raw_json_fuzzer image_header_fuzzer fourm_yaml_fuzzer npz_fuzzer
         numpy_pickle_fuzzer image_decode_fuzzer s3_response_fuzzer jsonl_import_fuzzer)
what=${1:?usage: scripts/fuzz.sh TARGET|all|list [SECONDS]}
if [ "$what" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
seconds=${2:?usage: scripts/fuzz.sh TARGET|all SECONDS}
if [ "$what" = all ]; then run=("${targets[@]}"); else run=("$what"); fi
for t in "${run[@]}"; do
  [[ " ${targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (try: list)" >&2; exit 2; }
done

build=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$build/findings"
# Configured every time (quick when cached), so targets added since the last run exist.
# Optimised (-O3 -g) as fuzzers usually are: sanitizers work the same, inputs run faster.
if ! CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMASKFEED_FUZZ=ON -DMASKFEED_SANITIZE=address,undefined -DMASKFEED_BUILD_TESTS=OFF \
    -DMASKFEED_BUILD_BENCH=OFF -DMASKFEED_CUDA=OFF >"$build/findings/configure.log" 2>&1; then
  tail -30 "$build/findings/configure.log" >&2
  echo "fuzz: cmake failed (log: $build/findings/configure.log)" >&2
  exit 2
fi
if ! cmake --build "$build" -j"$(nproc)" --target "${run[@]}" >"$build/findings/build.log" 2>&1; then
  tail -50 "$build/findings/build.log" >&2
  echo "fuzz: the build failed (log: $build/findings/build.log)" >&2
  exit 2
fi

status=0
for t in "${run[@]}"; do
  scratch=$(mktemp -d)
  findings="$build/findings/$t"
  mkdir -p "$findings"
  echo "fuzz: $t for ${seconds}s (seeds: fuzz/corpus/$t)" >&2
  # Scratch files of the targets go to the scratch dir; leaks are reported as findings too.
  if ! TMPDIR="$scratch" UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build/fuzz/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -seed="${MASKFEED_FUZZ_SEED:-0}" \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/" \
      "$scratch" "fuzz/corpus/$t" 2>"$build/findings/$t.log"; then
    echo "fuzz: $t FOUND A PROBLEM; input in $findings/, log $build/findings/$t.log" >&2
    tail -40 "$build/findings/$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/findings/$t.log" |
      sed "s/^/fuzz: $t /" >&2
  fi
  rm -rf "$scratch"
done
exit $status
