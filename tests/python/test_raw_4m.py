"""A raw 4M dataset written the way 4M's own tools write it (Python's tarfile, json, numpy and
Pillow; nothing from maskfeed) served by maskfeed-server with 4M's tokenizer to the Python Feed:
caption and det rows hold exactly the ids 4M's loader gives for each sample's crop.

Caption ids come from the golden file made with HuggingFace's tokenizers; det ids are the
worked example of docs/raw-modalities.md#det (checked against HuggingFace's tokenizers too)."""

import gzip
import io
import json
import os
import tarfile

import numpy as np
import pytest
import torch

import maskfeed
from conftest import Server, add_member as add, input_ids, serve_config as serve, \
    torchvision_normalize

HERE = os.path.dirname(__file__)
TOKENIZER = os.path.join(HERE, "..", "data", "4m", "text_tokenizer_4m_wordpiece_30k.json")
GOLDENS = os.path.join(HERE, "..", "data", "tokenizer", "wordpiece_4m_goldens.jsonl.gz")
EOS = 3
SAMPLES = 40

DET = {"instances": [
    {"boxes": [0.25, 0.25, 0.5, 0.75], "class_name": "person", "score": 0.9},
    {"boxes": [0, 0, 0.1, 0.2], "class_name": "wine glass", "score": 0.95},
    {"boxes": [0.5, 0.1, 0.9, 0.3], "class_name": "dog", "score": 0.59},
    {"boxes": [0.8, 0, 1, 0.5], "class_name": "cat", "score": 0.6},
    {"boxes": [0.3, 0.9, 0.35, 0.95], "class_name": "wine glass", "score": 0.7}]}
# Crop (0, 80, 480, 480) of the 640x480 image, unflipped (row 0) and flipped (row 1).
DET_IDS = [
    [370, 1454, 2704, 3953, 4253, 1103, 1204, 3203, 3704, 4224, 437, 2103, 2504, 4153, 4282],
    [204, 1204, 2304, 3704, 4224, 704, 1454, 3036, 3953, 4253, 903, 2103, 2970, 4153, 4282]]
CROPS = np.array([[0, 80, 480, 480, 0], [0, 80, 480, 480, 1]], dtype=np.int64)


def goldens(n):
    """The first n golden strings that are distinct and tokenize to distinct ids."""
    out, seen = [], set()
    with gzip.open(GOLDENS, "rt", encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            key = tuple(g["ids"])
            if key in seen or not g["ids"]:
                continue
            seen.add(key)
            out.append(g)
            if len(out) == n:
                break
    return out


def npy(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


@pytest.fixture(scope="module")
def raw_dataset(tmp_path_factory):
    from PIL import Image
    root = tmp_path_factory.mktemp("raw4m")
    captions = goldens(2 * SAMPLES)
    folders = ["caption", "det", "rgb", "crop_settings", "tok_rgb@224"]
    for folder in folders:
        (root / folder).mkdir()
    tars = {f: tarfile.open(root / f / "shard-00000.tar", "w", format=tarfile.PAX_FORMAT)
            for f in folders}
    jpeg = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 200)).save(jpeg, "JPEG")
    expected = {}  # caption ids + EOS, cut to 256 -> (sample, crop or None)
    for i in range(SAMPLES):
        key = f"{i:09d}"
        pair = captions[2 * i:2 * i + 2]
        if i % 4 == 3:  # a .txt caption: the same text whatever the crop
            add(tars["caption"], key + ".txt", pair[0]["text"].encode("utf-8"))
            expected[tuple((pair[0]["ids"] + [EOS])[:256])] = (i, None)
        else:  # one caption per crop variant, the second as an object
            doc = [pair[0]["text"], {"caption": pair[1]["text"]}]
            add(tars["caption"], key + ".json", json.dumps(doc).encode("utf-8"))
            for crop in (0, 1):
                expected[tuple((pair[crop]["ids"] + [EOS])[:256])] = (i, crop)
        add(tars["det"], key + ".json", json.dumps(DET).encode("utf-8"))
        add(tars["rgb"], key + ".jpg", jpeg.getvalue())
        add(tars["crop_settings"], key + ".npy", npy(CROPS))
        add(tars["tok_rgb@224"], key + ".npy", npy(np.full((2, 196), i, dtype=np.int16)))
    for tar in tars.values():
        tar.close()
    return root, expected


CONFIG = """
dataset {{
  name: "raw"
  path: "{root}"
  text_tokenizer: "{tokenizer}"
  main_augment_domain: "rgb@224"
  masking {{
    modalities {{ name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }}
    modalities {{ name: "det" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }}
    modalities {{ name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }}
    transfer {{ inputs: "caption" inputs: "det" targets: "tok_rgb@224" }}
  }}
}}
"""


def test_caption_and_det_rows_hold_4m_ids_for_the_samples_crop(raw_dataset, tmp_path):
    root, expected = raw_dataset
    server = serve(tmp_path, "raw",
                   CONFIG.format(root=root, tokenizer=os.path.abspath(TOKENIZER)))
    try:
        seen = set()
        with maskfeed.Feed(server.address, dataset="raw", batch_size=16, seed=11,
                           output="numpy", max_batches=10) as feed:
            for batch in feed:
                for row in range(16):
                    caption = tuple(input_ids(batch["caption"], row))
                    assert caption in expected, f"row {row}: caption ids of no sample's crop"
                    sample, crop = expected[caption]
                    det = input_ids(batch["det"], row)
                    assert det in ([*DET_IDS[0], EOS], [*DET_IDS[1], EOS])
                    if crop is not None:  # the caption's crop is det's crop
                        assert det == [*DET_IDS[crop], EOS], f"sample {sample}"
                    # the image tokens of the same sample (its index, written by numpy)
                    assert int(batch["tok_rgb@224"]["tensor"][row][0]) == sample
                    seen.add((sample, crop))
        assert len({s for s, _ in seen}) == SAMPLES  # 160 rows: every sample, both crops
        assert {c for _, c in seen} == {0, 1, None}
    finally:
        server.stop()


def test_raw_text_without_a_tokenizer_fails_at_start_naming_the_modality(raw_dataset, tmp_path):
    root, _ = raw_dataset
    config = tmp_path / "server.pbtxt"
    config.write_text(CONFIG.format(root=root, tokenizer="").replace('text_tokenizer: ""', ""))
    with pytest.raises(RuntimeError) as failed:
        Server(None, tmp_path / "raw.sock", tmp_path / "raw.log",
               extra_args=("--config", str(config)))
    assert "modality caption: dataset folder caption holds txt, json members: raw text needs " \
           "4M's text tokenizer" in str(failed.value)


DATA_YAML = """
train:
  datasets:
    raw4m:
      type: multimodal
      in_domains: caption-det-rgb@224-tok_rgb@224
      out_domains: caption-det-tok_rgb@224
      input_alphas: null
      target_alphas: null
      alphas_config: "alphas.yaml"
      data_path: '{root}/[caption,det,rgb,crop_settings,tokrgb]/shard-{{00000..00000}}.tar'
      use_wds: True
      wds_n_repeats: 2
      wds_shuffle_buffer_tar: 1_000
      main_augment_domain: rgb@224
      aligned_captions: True
      tok_train_aug: True
      modality_name_map:
        tokrgb: tok_rgb@224
  weights: [1.0]
"""

# 4M-7's alphas file for these modalities, with caption in rgb@224's place in rgb2all and
# rgb@224 at alpha 0 (so that every sample shows text; pixels are tested below).
ALPHAS_YAML = """
rgb@224:
  input_alphas: [0., 0.]
  target_alphas: [0., 0.]
tok_rgb@224:
  input_alphas: [0., 0.5]
  target_alphas: [0.5, 0.5]
caption:
  input_alphas: [1000.0, 0.5]
  target_alphas: [0.5, 0.5]
  keep: ['random', 'random']
det:
  input_alphas: [0., 0.5]
  target_alphas: [0.5, 0.5]
  keep: ['random', 'random']
"""


def test_4m_yaml_configs_serve_the_raw_dataset(raw_dataset, tmp_path):
    """4M's YAML (data_path with a folder list and braces, modality_name_map for a renamed
    folder, wds_n_repeats, an alphas file) served by --4m-config, and --print-config."""
    root, _ = raw_dataset
    renamed = root / "tokrgb"
    if not renamed.exists():
        os.symlink(root / "tok_rgb@224", renamed)
    (tmp_path / "alphas.yaml").write_text(ALPHAS_YAML)
    data = tmp_path / "data.yaml"
    data.write_text(DATA_YAML.format(root=root))
    args = ("--4m-config", str(data), "--4m-root", str(tmp_path),
            "--text-tokenizer", os.path.abspath(TOKENIZER))
    from conftest import SERVER_BIN
    import subprocess
    printed = subprocess.run([SERVER_BIN, *args, "--print-config"], check=True,
                             capture_output=True, text=True).stdout
    assert 'name: "raw4m"' in printed and "n_repeats: 2" in printed
    assert 'key: "tokrgb"' in printed and "main_augment_domain: \"rgb@224\"" in printed
    server = Server(None, tmp_path / "y.sock", tmp_path / "y.log", extra_args=args)
    try:
        rows, served = 0, []
        with maskfeed.Feed(server.address, dataset="raw4m", batch_size=8, seed=2,
                           output="numpy", max_batches=5) as feed:
            for batch in feed:
                assert sorted(batch) == ["caption", "det", "rgb@224", "tok_rgb@224"]
                assert batch["rgb@224"]["input_mask"].all()  # alpha 0: never an input
                samples = []
                for row in range(8):
                    tokens = batch["tok_rgb@224"]["tensor"][row]
                    visible = tokens[~batch["tok_rgb@224"]["input_mask"][row].astype(bool)]
                    # every visible image token is the sample's index (written by numpy)
                    samples.append(int(visible[0]) if len(visible) else None)
                    # det's visible ids, sentinels aside, are in order from one crop's ids
                    det = [t for t in input_ids(batch["det"], row) if not 4 <= t < 204]
                    assert any(is_subsequence(det, [*ids, EOS]) for ids in DET_IDS), det
                    rows += 1
                for row, sample in enumerate(samples):  # the row's sample, as the batch names it
                    assert sample is None or sample == batch.samples[row]
                served += batch.samples.tolist()
                assert batch.datasets == ["raw4m"] * 8
        assert rows == 40
        # wds_n_repeats: 2, spread: the first 40 views are the first copies of all 40 samples
        # (one segment), not 20 samples twice in a row.
        assert sorted(served) == list(range(SAMPLES))
    finally:
        server.stop()


def is_subsequence(part, whole):
    it = iter(whole)
    return all(x in it for x in part)


T5_CONFIG = """
dataset {{
  name: "t5"
  path: "{root}"
  masking {{
    modalities {{ name: "t5_caption" type: MODALITY_TYPE_SEQ_EMB max_tokens: 16 embedding_dim: 8 }}
    modalities {{ name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }}
    input_tokens {{ max: 64 }}
    target_tokens {{ max: 64 }}
    mixture {{
      input_alpha {{ key: "t5_caption" value: 1000 }}
      target_alpha {{ key: "tok_rgb@224" value: 1 }}
      keep {{ key: "t5_caption" value: KEEP_SCHEME_ALL }}
    }}
  }}
}}
"""


def test_t5_caption_npz_rows_are_the_crops_valid_rows(tmp_path):
    """t5_caption .npz written by np.savez and np.savez_compressed (zip64 headers, stored and
    deflated): the input rows are the drawn crop's rows whose mask_valid is set, in order."""
    root = tmp_path / "t5data"
    for folder in ("t5_caption", "crop_settings", "tok_rgb@224"):
        (root / folder).mkdir(parents=True)
    rng = np.random.default_rng(5)
    expected = {}
    with tarfile.open(root / "t5_caption" / "shard-00000.tar", "w") as t5, \
            tarfile.open(root / "crop_settings" / "shard-00000.tar", "w") as crops, \
            tarfile.open(root / "tok_rgb@224" / "shard-00000.tar", "w") as tok:
        for i in range(24):
            key = f"{i:06d}"
            emb = rng.standard_normal((2, 10, 8)).astype(np.float16 if i % 2 else np.float32)
            mask = rng.random((2, 10)) < 0.6
            mask[:, 0] = True
            out = io.BytesIO()
            (np.savez_compressed if i % 3 else np.savez)(out, emb=emb, mask_valid=mask)
            add(t5, key + ".npz", out.getvalue())
            add(crops, key + ".npy", npy(CROPS))
            add(tok, key + ".npy", npy(np.full((2, 196), i, dtype=np.int16)))
            expected[i] = [emb[c][mask[c]].astype(np.float32) for c in (0, 1)]
    server = serve(tmp_path, "t5", T5_CONFIG.format(root=root))
    try:
        crops_seen = set()
        with maskfeed.Feed(server.address, dataset="t5", batch_size=8, seed=4,
                           output="numpy", max_batches=6) as feed:
            for batch in feed:
                t5 = batch["t5_caption"]
                for row in range(8):
                    sample = int(batch["tok_rgb@224"]["tensor"][row][0])
                    rows = t5["tensor"][row][~t5["input_mask"][row].astype(bool)]
                    match = [c for c in (0, 1) if rows.shape == expected[sample][c].shape
                             and np.array_equal(rows, expected[sample][c])]
                    assert match, f"sample {sample}: rows of neither crop"
                    crops_seen.add(match[0])
        assert crops_seen == {0, 1}
    finally:
        server.stop()


SAM_CONFIG = """
dataset {{
  name: "sam"
  path: "{root}"
  text_tokenizer: "{tokenizer}"
  masking {{
    modalities {{ name: "sam_instance" type: MODALITY_TYPE_SEQ max_tokens: 290 vocab_size: 30000 }}
    modalities {{ name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }}
    transfer {{ inputs: "sam_instance" targets: "tok_rgb@224" }}
  }}
}}
"""
POINT, NONE, POLYGON = 6712, 18109, 14445
TRIANGLE = [(10, 10), (150, 10), (10, 150)]


def in_triangle(x, y):
    """Inside or on the boundary of TRIANGLE (integer cross products)."""
    signs = []
    for (ax, ay), (bx, by) in zip(TRIANGLE, TRIANGLE[1:] + TRIANGLE[:1]):
        signs.append((bx - ax) * (y - ay) - (by - ay) * (x - ax))
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


def test_sam_instance_pickles_become_4m_point_text(tmp_path):
    """sam_instance as np.save(allow_pickle=True) writes it (a pickled object array of dicts
    of contours, token ids and boxes, one per crop): every query point lists exactly the
    instances whose contour holds it (invariants 18, 19)."""
    root = tmp_path / "samdata"
    for folder in ("sam_instance", "crop_settings", "tok_rgb@224"):
        (root / folder).mkdir(parents=True)
    square = np.array([[[0, 0]], [[223, 0]], [[223, 223]], [[0, 223]]], dtype=np.int32)
    triangle = np.array([[[x, y]] for x, y in TRIANGLE], dtype=np.int32)
    with tarfile.open(root / "sam_instance" / "shard-00000.tar", "w") as sam, \
            tarfile.open(root / "crop_settings" / "shard-00000.tar", "w") as crops, \
            tarfile.open(root / "tok_rgb@224" / "shard-00000.tar", "w") as tok:
        for i in range(16):
            entries = np.empty(2, dtype=object)
            for c in range(2):
                entries[c] = {
                    "points": [[square], [triangle, "ignored"]],
                    "token_ids": np.arange(32, dtype=np.int64).reshape(2, 16) * 30 + c,
                    "bbox": np.array([[0.0, 0.0, 223.9, 223.9], [10.0, 10.0, 150.5, 150.5]],
                                     dtype=np.float32)}
            out = io.BytesIO()
            np.save(out, entries, allow_pickle=True)
            add(sam, f"{i:06d}.npy", out.getvalue())
            add(crops, f"{i:06d}.npy", npy(CROPS))
            add(tok, f"{i:06d}.npy", npy(np.full((2, 196), i, dtype=np.int16)))
    server = serve(tmp_path, "sam",
                   SAM_CONFIG.format(root=root, tokenizer=os.path.abspath(TOKENIZER)))
    try:
        points = 0
        with maskfeed.Feed(server.address, dataset="sam", batch_size=8, seed=9,
                           output="numpy", max_batches=4) as feed:
            for batch in feed:
                for row in range(8):
                    ids = input_ids(batch["sam_instance"], row)
                    assert ids[-1] == EOS
                    blocks = []  # (x, y, [instance blocks])
                    k = 0
                    while ids[k] != EOS:
                        assert ids[k] == POINT, ids[k:k + 5]
                        y, x = ids[k + 1] - 204, ids[k + 2] - 1204
                        assert 0 <= x < 224 and 0 <= y < 224
                        k += 3
                        found = []
                        if ids[k] == NONE:
                            k += 1
                        while ids[k] == POLYGON:
                            found.append(ids[k + 1:k + 5 + 16])
                            k += 5 + 16
                        blocks.append((x, y, found))
                    assert 1 <= len(blocks) <= 7
                    assert len({(x, y) for x, y, _ in blocks}) == len(blocks)
                    for x, y, found in blocks:
                        # the square holds every point; the triangle those in it
                        assert len(found) == 1 + in_triangle(x, y), (x, y)
                        first = [f[0] for f in found]  # v0=xmin: 204 + 0 or 204 + 10
                        assert sorted(first) == sorted([204] + [214] * in_triangle(x, y))
                        points += 1
        assert points > 100
    finally:
        server.stop()


PIXEL_CONFIG = """
dataset {{
  name: "px"
  path: "{root}"
  masking {{
    modalities {{ name: "rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 pixel_size: 224 }}
    modalities {{ name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 vocab_size: 16384 }}
    mixture {{
      input_alpha {{ key: "rgb@224" value: 1000 }}
      target_alpha {{ key: "tok_rgb@224" value: 1 }}
    }}
  }}
}}
"""


def pillow_rows(jpeg, crops, size=224):
    """4M's RGB path up to to-tensor, by Pillow itself: for each crop_settings row (top, left,
    h, w, flip), Image.open + convert("RGB"), crop, resize(BICUBIC), FLIP_LEFT_RIGHT when
    flipped, as uint8 (3, size, size)."""
    from PIL import Image
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    rows = []
    for top, left, h, w, flip in crops:
        out = image.crop((left, top, left + w, top + h)).resize((size, size), Image.BICUBIC)
        if flip:
            out = out.transpose(Image.FLIP_LEFT_RIGHT)
        rows.append(np.asarray(out).transpose(2, 0, 1))
    return rows


def test_rgb_pixels_over_the_wire_are_pillows(tmp_path):
    """rgb@224 (pixel_size 224) from Pillow-written JPEGs of every sample, served to the Feed:
    each row is uint8 (3, 224, 224), Pillow's crop, resize and flip of the sample's image
    for one of its crop variants (4M's RGB transform before to-tensor)."""
    from PIL import Image
    root = tmp_path / "px"
    folders = ["rgb", "crop_settings", "tok_rgb@224"]
    for folder in folders:
        (root / folder).mkdir(parents=True)
    tars = {f: tarfile.open(root / f / "shard-00000.tar", "w", format=tarfile.PAX_FORMAT)
            for f in folders}
    rng = np.random.default_rng(5)
    crops = np.array([[10, 30, 300, 420, 0], [-20, 200, 250, 500, 1]], dtype=np.int64)
    expected = {}  # sample -> its two candidate rows
    for i in range(12):
        h, w = 240 + 20 * i, 320 + 30 * i
        y, x = np.mgrid[0:h, 0:w]
        pixels = np.stack([(x * 255 // w), (y * 255 // h), ((x + y + 40 * i) % 256)], -1)
        pixels = (pixels + rng.integers(0, 30, pixels.shape)).clip(0, 255).astype(np.uint8)
        jpeg = io.BytesIO()
        Image.fromarray(pixels).save(jpeg, "JPEG", quality=90)
        add(tars["rgb"], f"{i:09d}.jpg", jpeg.getvalue())
        add(tars["crop_settings"], f"{i:09d}.npy", npy(crops))
        add(tars["tok_rgb@224"], f"{i:09d}.npy", npy(np.full((2, 196), i, dtype=np.int16)))
        expected[i] = pillow_rows(jpeg.getvalue(), crops)
    for tar in tars.values():
        tar.close()
    server = serve(tmp_path, "px", PIXEL_CONFIG.format(root=root))
    try:
        seen = set()
        raw = []
        with maskfeed.Feed(server.address, dataset="px", batch_size=6, seed=3,
                           output="numpy", pixels="uint8", max_batches=6) as feed:
            for batch in feed:
                rgb = batch["rgb@224"]
                raw.append(rgb["tensor"])
                assert rgb["tensor"].dtype == np.uint8
                assert rgb["tensor"].shape == (6, 3, 224, 224)
                assert rgb["input_mask"].shape == (6, 196)
                for row in range(6):
                    targets = batch["tok_rgb@224"]["tensor"][row]
                    visible = targets[~batch["tok_rgb@224"]["target_mask"][row].astype(bool)]
                    sample = int(visible[0])
                    match = [k for k, e in enumerate(expected[sample])
                             if np.array_equal(rgb["tensor"][row], e)]
                    assert match, f"row {row}: not Pillow's pixels of sample {sample}"
                    seen.add((sample, match[0]))
        assert {c for _, c in seen} == {0, 1}
        # By default the Feed gives 4M's float32 (torch here): the same batches normalised.
        with maskfeed.Feed(server.address, dataset="px", batch_size=6, seed=3,
                           max_batches=6) as feed:
            for pixels, batch in zip(raw, feed):
                tensor = batch["rgb@224"]["tensor"]
                assert tensor.dtype == torch.float32 and tuple(tensor.shape) == (6, 3, 224, 224)
                assert torch.equal(tensor, torchvision_normalize(torch.from_numpy(pixels.copy())))
    finally:
        server.stop()


TOK_FOLDERS = ["tok_clip@224", "tok_depth@224", "tok_normal@224", "tok_rgb@224", "tok_semseg@224"]


def test_4m7_as_4m_stores_it_served_with_4ms_own_yaml_gives_pillows_pixels(tmp_path):
    """The issue's "done when": a 4M-7 dataset in 4M's raw layout written here by PIL, tarfile,
    json and numpy, served with 4M's own 4M-7 model config (through its data and alphas
    configs, as shipped), yields rgb@224 rows bit-identical to Pillow's crop, resize and flip
    of the sample's image for one of its crop variants; by default the Feed gives 4M's
    normalised float32 of the same bytes."""
    from PIL import Image
    root = tmp_path / "cc12m"
    folders = ["caption", "crop_settings", "det", "rgb", *TOK_FOLDERS]
    for folder in folders:
        (root / folder).mkdir(parents=True)
    rng = np.random.default_rng(7)
    expected = {}  # sample -> Pillow's rows for its crop variants
    for shard in range(2):
        tars = {f: tarfile.open(root / f / f"shard-{shard:05d}.tar", "w",
                                format=tarfile.PAX_FORMAT) for f in folders}
        for i in range(6 * shard, 6 * shard + 6):
            key = f"{i:09d}"
            h, w = int(rng.integers(200, 700)), int(rng.integers(200, 700))
            y, x = np.mgrid[0:h, 0:w]
            pixels = np.stack([x * 255 // w, y * 255 // h, (x * y // 97 + 30 * i) % 256], -1)
            pixels = (pixels + rng.integers(0, 40, pixels.shape)).clip(0, 255).astype(np.uint8)
            jpeg = io.BytesIO()
            Image.fromarray(pixels).save(jpeg, "JPEG", quality=int(rng.integers(70, 96)))
            side = min(h, w)
            crops = np.array([[(h - side) // 2, (w - side) // 2, side, side, 0],
                              [int(rng.integers(-20, h // 3)), int(rng.integers(-20, w // 3)),
                               int(rng.integers(h // 2, h)), int(rng.integers(w // 2, w)), 1]],
                             dtype=np.int64)
            add(tars["rgb"], key + ".jpg", jpeg.getvalue())
            add(tars["crop_settings"], key + ".npy", npy(crops))
            add(tars["caption"], key + ".json",
                json.dumps([f"a picture number {i}", f"another view of picture {i}"]).encode())
            add(tars["det"], key + ".json", json.dumps(DET).encode())
            for folder in TOK_FOLDERS:
                add(tars[folder], key + ".npy", npy(np.full((2, 196), i, dtype=np.int16)))
            expected[i] = pillow_rows(jpeg.getvalue(), crops)
        for tar in tars.values():
            tar.close()
    configs = os.path.join(HERE, "..", "data", "4m", "configs")
    pattern = f"{root}/[{','.join(folders)}]/shard-{{00000..00001}}.tar"
    server = Server(None, tmp_path / "4m7.sock", tmp_path / "4m7.log", extra_args=(
        "--4m-config", os.path.join(configs, "cfgs/default/4m/models/main/4m-b_mod7_500b.yaml"),
        "--4m-root", configs, "--4m-data-path", pattern,
        "--text-tokenizer", os.path.abspath(TOKENIZER)))
    try:
        raw, compared, variants = [], 0, set()
        with maskfeed.Feed(server.address, dataset="cc12m", batch_size=8, seed=1,
                           output="numpy", pixels="uint8", max_batches=6) as feed:
            for batch in feed:
                assert sorted(batch) == sorted(["caption", "det", "rgb@224", *TOK_FOLDERS])
                rgb = batch["rgb@224"]
                assert rgb["tensor"].shape == (8, 3, 224, 224)
                assert rgb["target_mask"].all(), "rgb is never a target"
                raw.append(rgb["tensor"])
                for row in range(8):
                    if rgb["input_mask"][row].all():  # no rgb budget: never decoded
                        assert not rgb["tensor"][row].any()
                        continue
                    sample = None
                    for folder in TOK_FOLDERS:
                        t = batch[folder]
                        shown = ~(t["input_mask"][row] & t["target_mask"][row])
                        if shown.any():
                            sample = int(t["tensor"][row][shown][0])
                            break
                    if sample is None:
                        continue
                    match = [k for k, e in enumerate(expected[sample])
                             if np.array_equal(rgb["tensor"][row], e)]
                    assert match, f"row {row}: not Pillow's pixels of sample {sample}"
                    variants.add(match[0])
                    compared += 1
        assert compared >= 10 and variants == {0, 1}, (compared, variants)
        with maskfeed.Feed(server.address, dataset="cc12m", batch_size=8, seed=1,
                           max_batches=6) as feed:
            for pixels, batch in zip(raw, feed):
                assert torch.equal(batch["rgb@224"]["tensor"],
                                   torchvision_normalize(torch.from_numpy(pixels.copy())))
    finally:
        server.stop()
