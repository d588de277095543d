#!/usr/bin/env python3
"""A stand-in for 4M's own loader on a raw 4M-7 dataset (tar shards as maskfeed-shard synth
writes them), on one core: what 4M does per sample, in Python, as 4M does it.

  read      tarfile members grouped by key (webdataset's way)
  decode    Pillow open + convert("RGB"); json.loads (caption, det); np.load (tok_*, crops)
  augment   one crop variant per sample: Pillow crop + resize(BICUBIC) + FLIP_LEFT_RIGHT,
            to-tensor + normalize (torchvision when installed, else the same torch ops); det
            boxes moved into the crop, clipped, flipped, sorted, written as "v0=.. name" text;
            the caption element and the tok_* rows of that variant
  mask      4M-7's mixture: a component per sample, Dirichlet token budgets over the
            modalities, random token subsets of each image modality, T5-style sentinel spans
            over the text ids with 4M's input/target layout, padded to 256
  collate   torch.stack per modality and tensor

Text tokenization is NOT timed: ids come from a table made before the clock starts (with
`maskfeed tokenize`, HuggingFace-exact), where 4M runs HuggingFace's tokenizer per sample.
That favours the reference. Prints one JSON line.

    fourm7_reference.py DATA_DIR TOKENIZER MASKFEED_BIN [SAMPLES] [BATCH]
"""
import glob
import io
import json
import math
import os
import random
import subprocess
import sys
import tarfile
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# 4M's RGBTransform steps, shared with the pixel benchmark (one torch thread).
from pixel_bench_pillow import MEAN, STD, normalize, to_tensor  # noqa: E402
from pixel_bench_pillow import impl as IMPL  # noqa: E402

TOKS = ["tok_clip@224", "tok_depth@224", "tok_normal@224", "tok_rgb@224", "tok_semseg@224"]
MODS = ["caption", "det", "rgb@224", *TOKS]
SEQ_LEN, IMG_LEN, N_IN, N_TGT, EOS, SENTINEL = 256, 196, 128, 128, 3, 4
# 4M-7's two components (docs/pipeline.md#masking): rgb2all and all2all.
COMPONENTS = [
    ({m: (1000.0 if m == "rgb@224" else 0.0) for m in MODS},
     {m: (0.0 if m == "rgb@224" else 0.5) for m in MODS}),
    ({m: 0.5 for m in MODS}, {m: (0.0 if m == "rgb@224" else 0.5) for m in MODS}),
]


def read_samples(root):
    """{key: {folder: bytes}} from every tar shard under root."""
    samples = {}
    for path in sorted(glob.glob(os.path.join(root, "*", "*.tar"))):
        folder = os.path.basename(os.path.dirname(path))
        with tarfile.open(path) as tar:
            for member in tar:
                key, _ = os.path.splitext(member.name)
                samples.setdefault(key, {})[folder] = (member.name, tar.extractfile(member).read())
    return samples


def det_text(det, crop, orig_hw, flip):
    """4M's DetectionTransform: score filter, into the crop, clip, flip, sort, format."""
    top, left, h, w = crop
    H, W = orig_hw
    boxes = []
    for inst in det["instances"]:
        if inst["score"] < 0.6:
            continue
        x0, y0, x1, y1 = inst["boxes"]
        x0, x1 = [min(max((x * W - left) / w, 0.0), 1.0) for x in (x0, x1)]
        y0, y1 = [min(max((y * H - top) / h, 0.0), 1.0) for y in (y0, y1)]
        if x1 <= x0 or y1 <= y0:
            continue
        if flip:
            x0, x1 = 1 - x1, 1 - x0
        boxes.append((x0, y0, x1, y1, inst["class_name"]))
    boxes.sort(key=lambda b: b[0] * b[0] + b[1] * b[1])
    return " ".join(f"v0={round(999 * b[0])} v1={round(999 * b[1])} v2={round(999 * b[2])} "
                    f"v3={round(999 * b[3])} {b[4]}" for b in boxes)


def budgets(alphas, total, rng):
    """Dirichlet proportions of `total` tokens over the modalities with alpha > 0."""
    names = [m for m in MODS if alphas[m] > 0]
    p = rng.dirichlet([alphas[m] for m in names])
    counts = np.floor(p * total).astype(int)
    counts[np.argmax(p)] += total - counts.sum()
    return dict(zip(names, counts.tolist()))


def mask_image(tokens, n_in, n_tgt):
    order = torch.argsort(torch.rand(tokens.shape[0]))
    input_mask = torch.ones(tokens.shape[0], dtype=torch.bool)
    target_mask = torch.ones(tokens.shape[0], dtype=torch.bool)
    input_mask[order[:n_in]] = False
    target_mask[order[n_in:n_in + n_tgt]] = False
    return {"tensor": tokens, "input_mask": input_mask, "target_mask": target_mask,
            "decoder_attention_mask": torch.zeros(tokens.shape[0], dtype=torch.int)}


def mask_text(ids, n_in, n_tgt, rng):
    """T5 span masking in 4M's layout: input ids with sentinels, then the target spans."""
    ids = ids[:SEQ_LEN - 1] + [EOS]
    n = len(ids)
    spans = max(1, min(n // 3, int(rng.integers(1, 6))))
    cuts = sorted(rng.choice(np.arange(1, n), size=min(2 * spans, n - 1), replace=False).tolist())
    inp, tgt, s = [], [], SENTINEL
    for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, n])):
        if i % 2 == 0:
            inp += ids[a:b]
        else:
            inp.append(s)
            tgt += [s, *ids[a:b]]
            s += 1
    seq = (inp[:n_in] + tgt[:n_tgt])[:SEQ_LEN]
    k_in = min(len(inp), n_in)
    tensor = torch.zeros(SEQ_LEN, dtype=torch.long)
    tensor[:len(seq)] = torch.tensor(seq)
    input_mask = torch.ones(SEQ_LEN, dtype=torch.bool)
    target_mask = torch.ones(SEQ_LEN, dtype=torch.bool)
    input_mask[:k_in] = False
    target_mask[k_in:len(seq)] = False
    return {"tensor": tensor, "input_mask": input_mask, "target_mask": target_mask,
            "decoder_attention_mask": (~target_mask).int()}


def load_sample(files, ids_of, rng):
    image = Image.open(io.BytesIO(files["rgb"][1])).convert("RGB")
    crops = np.load(io.BytesIO(files["crop_settings"][1]))
    caption = json.loads(files["caption"][1])
    det = json.loads(files["det"][1])
    toks = {m: np.load(io.BytesIO(files[m][1])) for m in TOKS}
    idx = random.randint(0, crops.shape[0] - 1)
    top, left, h, w, flip = (int(v) for v in crops[idx])
    W, H = image.size
    crop = image.crop((left, top, left + w, top + h)).resize((224, 224), Image.BICUBIC)
    if flip:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    rgb = normalize(to_tensor(crop), MEAN, STD)
    text = caption[idx] if isinstance(caption, list) else caption
    text = text["caption"] if isinstance(text, dict) else text
    alphas_in, alphas_tgt = COMPONENTS[random.randint(0, 1)]
    n_in, n_tgt = budgets(alphas_in, N_IN, rng), budgets(alphas_tgt, N_TGT, rng)
    out = {}
    for name in ("caption", "det"):
        words = text if name == "caption" else det_text(det, (top, left, h, w), (H, W), flip)
        out[name] = mask_text(ids_of.get(words, []), n_in.get(name, 0), n_tgt.get(name, 0), rng)
    out["rgb@224"] = mask_image(torch.zeros(IMG_LEN, dtype=torch.long), n_in.get("rgb@224", 0), 0)
    out["rgb@224"]["tensor"] = rgb
    for m in TOKS:
        out[m] = mask_image(torch.from_numpy(toks[m][idx].astype(np.int64)), n_in.get(m, 0),
                            n_tgt.get(m, 0))
    return out


def tokenize_all(samples, tokenizer, cli):
    """{text: ids} for every caption element and every det text of every crop (untimed)."""
    texts = set()
    for files in samples.values():
        image = Image.open(io.BytesIO(files["rgb"][1]))
        crops = np.load(io.BytesIO(files["crop_settings"][1]))
        caption = json.loads(files["caption"][1])
        det = json.loads(files["det"][1])
        for top, left, h, w, flip in crops.tolist():
            texts.add(det_text(det, (top, left, h, w), (image.size[1], image.size[0]), flip))
        for c in caption if isinstance(caption, list) else [caption]:
            texts.add(c["caption"] if isinstance(c, dict) else c)
    texts = sorted(t for t in texts if "\n" not in t)
    out = subprocess.run([cli, "tokenize", "--tokenizer", tokenizer], input="\n".join(texts),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return {t: [int(x) for x in line.split()] for t, line in zip(texts, out)}


def main():
    root, tokenizer, cli = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 400
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    samples = read_samples(root)
    ids_of = tokenize_all(samples, tokenizer, cli)
    keys = sorted(samples)
    random.seed(0)
    rng = np.random.default_rng(0)
    done, start = 0, time.perf_counter()
    while done < count:
        rows = [load_sample(samples[keys[(done + i) % len(keys)]], ids_of, rng)
                for i in range(batch)]
        _ = {m: {k: torch.stack([r[m][k] for r in rows]) for k in rows[0][m]} for m in MODS}
        done += batch
    seconds = time.perf_counter() - start
    print(json.dumps({"bench": "fourm7_reference", "impl": IMPL, "samples": done,
                      "seconds": round(seconds, 3), "samples_per_s": round(done / seconds, 1),
                      "threads": 1, "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
