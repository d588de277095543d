"""Datasets without crop_settings, cropped as 4M crops them when no modality is pre-tokenized:
torchvision's random-resized crop with the config's scale, ratio and flip probability in
training (RandomCropImageAugmenter), the centre square in evaluation passes
(CenterCropImageAugmenter). The crop comes from the sample's own generator (same seed, same
bytes), the pixels are Pillow's for the drawn crop, det boxes move with it. Written here with
Pillow, json and tarfile; served by maskfeed-server to the Feed."""

import io
import json
import os
import tarfile

import numpy as np
import pytest

import maskfeed
from conftest import add_member as add, input_ids, serve_config as serve
from test_raw_4m import DET, DET_IDS, EOS

HERE = os.path.dirname(__file__)
TOKENIZER = os.path.join(HERE, "..", "data", "4m", "text_tokenizer_4m_wordpiece_30k.json")
# test_raw_4m.py's det example: its boxes in a 640x480 image, in the centre square
# (0, 80, 480, 480) unflipped, tokenize to DET_IDS[0] (docs/raw-modalities.md#det).
CENTRE_DET_IDS = DET_IDS[0]


def write_dataset(root, images, fmt):
    """rgb (one image per sample), caption (.txt) and det (.json) folders, no crop_settings."""
    from PIL import Image
    for folder in ("rgb", "caption", "det"):
        (root / folder).mkdir(parents=True)
    with tarfile.open(root / "rgb" / "shard-00000.tar", "w") as rgb, \
            tarfile.open(root / "caption" / "shard-00000.tar", "w") as cap, \
            tarfile.open(root / "det" / "shard-00000.tar", "w") as det:
        encoded = []
        for i, pixels in enumerate(images):
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, fmt)
            encoded.append(out.getvalue())
            add(rgb, f"{i:06d}.{'png' if fmt == 'PNG' else 'jpg'}", out.getvalue())
            add(cap, f"{i:06d}.txt", f"sample {i}".encode())
            add(det, f"{i:06d}.json", json.dumps(DET).encode())
    return encoded


def config(root, size, extra=""):
    return f"""
dataset {{
  name: "d"
  path: "{root}"
  text_tokenizer: "{os.path.abspath(TOKENIZER)}"
  main_augment_domain: "rgb@{size}"
  {extra}
  masking {{
    modalities {{ name: "rgb@{size}" type: MODALITY_TYPE_IMG max_tokens: {size * size // 256} pixel_size: {size} }}
    modalities {{ name: "det" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }}
    modalities {{ name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }}
    transfer {{ inputs: "rgb@{size}" inputs: "det" targets: "caption" }}
  }}
}}
"""


def pillow(encoded, box, flip, size):
    from PIL import Image
    top, left, h, w = box
    image = Image.open(io.BytesIO(encoded)).convert("RGB")
    out = image.crop((left, top, left + w, top + h)).resize((size, size), Image.BICUBIC)
    if flip:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return np.asarray(out).transpose(2, 0, 1)


def find_crop(encoded, shape, pixels, size):
    """Every (box, flip) of the image whose Pillow crop, resize and flip is `pixels`."""
    height, width = shape
    found = []
    for h in range(1, height + 1):
        for w in range(1, width + 1):
            for top in range(height - h + 1):
                for left in range(width - w + 1):
                    out = pillow(encoded, (top, left, h, w), False, size)
                    if np.array_equal(out, pixels):
                        found.append(((top, left, h, w), False))
                    if np.array_equal(out[:, :, ::-1], pixels):
                        found.append(((top, left, h, w), True))
    return found


def from_a_try(box, shape, scale=(0.2, 1.0), ratio=(0.75, 1.3333)):
    """Whether torchvision's get_params can give (h, w): an area t and ratio r in range with
    round(sqrt(t r)) = w and round(sqrt(t / r)) = h; or its centred fallback."""
    _, _, h, w = box
    height, width = shape
    area = height * width
    t = (max(scale[0] * area, (w - .5) * (h - .5)), min(scale[1] * area, (w + .5) * (h + .5)))
    r = (max(ratio[0], (w - .5) / (h + .5)), min(ratio[1], (w + .5) / (h - .5)))
    fallback = box == ((height - h) // 2, (width - w) // 2, h, w)
    return (t[0] <= t[1] and r[0] <= r[1]) or fallback


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Noise images of 7x9 .. 10x12 as PNG (lossless): each crop of each gives pixels no
    other crop gives, so a row's crop can be found by trying them all."""
    rng = np.random.default_rng(11)
    shapes = [(7 + i % 4, 9 + i % 4) for i in range(12)]
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]
    root = tmp_path_factory.mktemp("tiny") / "d"
    return root, write_dataset(root, images, "PNG"), shapes


def drain(address, **kwargs):
    with maskfeed.Feed(address, dataset="d", output="numpy", pixels="uint8", **kwargs) as feed:
        return list(feed)


def test_random_resized_crops_are_drawn_per_sample_and_pillows(tiny, tmp_path):
    root, encoded, shapes = tiny
    server = serve(tmp_path, "rand", config(root, 32))
    try:
        batches = drain(server.address, batch_size=12, seed=5, max_batches=4)
        again = drain(server.address, batch_size=12, seed=5, max_batches=4)
        for a, b in zip(batches, again):  # the sample's own generator: the same crops
            assert np.array_equal(a["rgb@32"]["tensor"], b["rgb@32"]["tensor"])
        crops, flips = {}, 0
        for batch in batches:
            for row, sample in enumerate(batch.samples.tolist()):
                found = find_crop(encoded[sample], shapes[sample],
                                  batch["rgb@32"]["tensor"][row], 32)
                assert len(found) == 1, f"sample {sample}: {len(found)} crops give its pixels"
                box, flip = found[0]
                assert from_a_try(box, shapes[sample]), f"sample {sample}: {box}"
                crops.setdefault(sample, set()).add(box)
                flips += flip
        rows = 12 * 4
        assert 0.25 < flips / rows < 0.75, f"{flips} of {rows} rows flipped"
        # Each epoch draws a new crop for a sample: 4 passes, mostly different crops.
        assert sum(len(c) for c in crops.values()) > 2 * len(crops)
    finally:
        server.stop()


def test_the_configs_crop_settings_are_used(tiny, tmp_path):
    """scale [1, 1], ratio around the image's own, never flipped: the whole image."""
    root, encoded, shapes = tiny
    server = serve(tmp_path, "whole", config(
        root, 32, "random_crop { scale_min: 1 scale_max: 1 ratio_min: 0.5 ratio_max: 2 hflip: 0 }"))
    try:
        for batch in drain(server.address, batch_size=6, seed=1, max_batches=2):
            for row, sample in enumerate(batch.samples.tolist()):
                h, w = shapes[sample]
                whole = pillow(encoded[sample], (0, 0, h, w), False, 32)
                assert np.array_equal(batch["rgb@32"]["tensor"][row], whole), f"sample {sample}"
    finally:
        server.stop()


def test_evaluation_takes_the_centre_square_and_moves_det_boxes_with_it(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(3)
    pixels = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(4)]
    root = tmp_path / "d"
    encoded = write_dataset(root, pixels, "JPEG")
    server = serve(tmp_path, "eval", config(root, 224))
    try:
        seen = set()
        for batch in drain(server.address, batch_size=4, eval="partial"):
            for row, sample in enumerate(batch.samples.tolist()):
                centre = pillow(encoded[sample], (0, 80, 480, 480), False, 224)
                assert np.array_equal(batch["rgb@224"]["tensor"][row], centre)
                det = batch["det"]
                assert input_ids(det, row) == CENTRE_DET_IDS + [EOS]
                seen.add(sample)
        assert seen == {0, 1, 2, 3}
        # In training the crop is drawn: det boxes follow it (not the centre square's ids).
        moved = 0
        for batch in drain(server.address, batch_size=4, seed=2, max_batches=2):
            det = batch["det"]
            for row in range(4):
                moved += input_ids(det, row) != CENTRE_DET_IDS + [EOS]
        assert moved >= 6
    finally:
        server.stop()


def test_pretokenized_data_without_crop_settings_is_refused(tiny, tmp_path):
    """A served tok_ modality was cut from crop_settings' crops: no crop may be drawn."""
    import shutil
    root = tmp_path / "d"
    shutil.copytree(tiny[0], root)
    (root / "tok_rgb@224").mkdir()
    with tarfile.open(root / "tok_rgb@224" / "shard-00000.tar", "w") as tok:
        for i in range(12):
            out = io.BytesIO()
            np.save(out, np.zeros((1, 196), np.int16))
            add(tok, f"{i:06d}.npy", out.getvalue())
    text = config(root, 32).replace(
        "transfer {", 'modalities { name: "tok_rgb@224" type: MODALITY_TYPE_IMG max_tokens: 196 '
        "vocab_size: 16384 }\n    transfer {").replace(
        'targets: "caption"', 'targets: "caption" targets: "tok_rgb@224"')
    with pytest.raises(RuntimeError, match="pre-tokenized modalities .* crop_settings"):
        serve(tmp_path, "tok", text)
