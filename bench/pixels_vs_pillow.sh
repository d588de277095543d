#!/usr/bin/env bash
# The rgb@S pixel path against 4M's, one core each, on the same images and crops: JPEGs of
# 256x256, 512x512 and 1024x768 (photo-like content, quality 90, 4:2:0, as Pillow writes
# them), each with a crop as 4M's pre-tokenization draws them (random-resized, scale 0.8..1,
# flipped half the time); maskfeed-bench-pixels, exact and --fast, against
# bench/pixel_bench_pillow.py (Pillow + to-tensor + normalize), alternating ROUNDS times.
# Prints every JSON line and one summary line per source size (medians over the rounds).
#   bench/pixels_vs_pillow.sh [SIZE] [SECONDS] [ROUNDS]
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
size=${1:-224}
seconds=${2:-2}
rounds=${3:-3}
build=${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work" <<'PY'
import importlib.util, io, json, math, os, random, sys
from PIL import Image
spec = importlib.util.spec_from_file_location("corpus", "tests/data/images/make_pillow_corpus.py")
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)
out, rng = sys.argv[1], random.Random(7)
with open(os.path.join(out, "manifest.jsonl"), "w") as m:
    for group, (w, h) in {"256x256": (256, 256), "512x512": (512, 512),
                          "1024x768": (1024, 768)}.items():
        for i in range(16):
            name = f"{group}_{i}.jpg"
            Image.fromarray(corpus.natural(rng, h, w)).save(os.path.join(out, name), "JPEG",
                                                            quality=90)
            for _ in range(10):  # torchvision's random-resized-crop sampler, scale (0.8, 1)
                area = h * w * rng.uniform(0.8, 1)
                aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
                cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
                if 0 < cw <= w and 0 < ch <= h:
                    break
            else:
                cw, ch = min(w, h), min(w, h)
            m.write(json.dumps({"file": name, "group": group, "top": rng.randint(0, h - ch),
                                "left": rng.randint(0, w - cw), "crop_height": ch,
                                "crop_width": cw, "flip": rng.random() < 0.5}) + "\n")
PY
# ROUNDS rounds of exact, fast and Pillow, each round in the next rotation of that order (a
# VM's speed drifts between runs, and the same kind always first or last in a round would
# carry that drift); medians per source.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
rate() { echo "$1" | grep "\"$2\"" | grep -o '"images_per_s": *[0-9.]*' | sed 's/.*: *//'; }
measure() {  # exact|fast|pillow
  case $1 in
    exact) taskset -c 0 "$build/bench/maskfeed-bench-pixels" --manifest "$work/manifest.jsonl" \
      --size "$size" --seconds "$seconds" ;;
    fast) taskset -c 0 "$build/bench/maskfeed-bench-pixels" --manifest "$work/manifest.jsonl" \
      --size "$size" --seconds "$seconds" --fast ;;
    pillow) taskset -c 0 /usr/bin/python3 bench/pixel_bench_pillow.py "$work/manifest.jsonl" \
      "$size" "$seconds" ;;
  esac
}
declare -A rates
kinds=(exact fast pillow)
for round in $(seq 0 $((rounds - 1))); do
  for i in 0 1 2; do
    kind=${kinds[$(((round + i) % 3))]}
    lines=$(measure "$kind")
    echo "$lines"
    for group in 256x256 512x512 1024x768; do
      rates[$kind,$group]+=" $(rate "$lines" "$group")"
    done
  done
done
for group in 256x256 512x512 1024x768; do
  # shellcheck disable=SC2086  # the lists split into their numbers
  a=$(median ${rates[exact,$group]}) f=$(median ${rates[fast,$group]})
  b=$(median ${rates[pillow,$group]})
  echo "{\"bench\": \"pixels_vs_pillow\", \"source\": \"$group\", \"size\": $size, \"rounds\": $rounds, \"maskfeed_exact_images_per_s\": $(printf %.0f "$a"), \"maskfeed_fast_images_per_s\": $(printf %.0f "$f"), \"pillow_images_per_s\": $(printf %.0f "$b"), \"exact_ratio\": $(awk "BEGIN {printf \"%.2f\", $a / $b}"), \"fast_ratio\": $(awk "BEGIN {printf \"%.2f\", $f / $b}"), \"cores\": $(nproc)}"
done
