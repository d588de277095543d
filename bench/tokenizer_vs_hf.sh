#!/usr/bin/env bash
# The text tokenizer against HuggingFace's `tokenizers` (its Rust core through the Node
# binding, encodeBatch), each pinned to one core, on the same corpus, in one run: prints both
# JSON lines and a summary with the ratio.
#   bench/tokenizer_vs_hf.sh [TOKENIZER.json] [CORPUS.jsonl.gz|captions] [SECONDS]
# CORPUS `captions`: the 2,000 captions of a 500-sample `maskfeed-shard synth` dataset.
# Needs node and `npm install tokenizers@0.23.2` in $HF_TOKENIZERS_DIR (default /tmp/hf); without
# them only maskfeed's line is printed.
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
tokenizer=${1:-tests/data/4m/text_tokenizer_4m_wordpiece_30k.json}
corpus=${2:-tests/data/tokenizer/wordpiece_4m_goldens.jsonl.gz}
seconds=${3:-5}
build=${BUILD_DIR:-build}
hf_dir=${HF_TOKENIZERS_DIR:-/tmp/hf}
field() { grep -o "\"$1\": *[0-9.]*" | tail -1 | sed 's/.*: *//'; }
if [ "$corpus" = captions ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$build/tools/maskfeed-shard" synth --samples 500 --shards 1 --format tar --out "$work/ds" \
    >/dev/null 2>&1
  corpus="$work/captions.jsonl.gz"
  /usr/bin/python3 - "$work/ds/caption" "$corpus" <<'PY'
import glob, gzip, json, sys, tarfile
with gzip.open(sys.argv[2], "wt") as out:
    for shard in sorted(glob.glob(sys.argv[1] + "/*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                value = json.loads(tar.extractfile(member).read())
                for c in value if isinstance(value, list) else [value]:
                    out.write(json.dumps({"text": c["caption"] if isinstance(c, dict) else c}) + "\n")
PY
fi

ours=$(taskset -c 0 "$build/bench/maskfeed-bench-tokenizer" --tokenizer "$tokenizer" \
  --corpus "$corpus" --seconds "$seconds")
echo "$ours"
if ! command -v node >/dev/null || [ ! -d "$hf_dir/node_modules/tokenizers" ]; then
  echo "tokenizer_vs_hf: no HuggingFace tokenizers in $hf_dir (npm install tokenizers@0.23.2)" >&2
  exit 0
fi
theirs=$(RAYON_NUM_THREADS=1 NODE_PATH="$hf_dir/node_modules" taskset -c 0 \
  node bench/hf_tokenizer_bench.js "$tokenizer" "$corpus" "$seconds")
echo "$theirs"
a=$(echo "$ours" | field chars_per_s)
b=$(echo "$theirs" | field chars_per_s)
echo "{\"bench\": \"tokenizer_vs_hf\", \"maskfeed_chars_per_s\": $a, \"hf_chars_per_s\": $b, \"ratio\": $(awk "BEGIN {printf \"%.1f\", $a / $b}"), \"cores\": $(nproc)}"
