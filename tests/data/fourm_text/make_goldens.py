"""Golden text for 4M-21's text-built modalities, made by ml-4m's own transforms on maskfeed's
synthetic 4M-21 dataset: what 4M's loader writes for each sample and crop variant, before
tokenizing. tokenize_goldens.js then adds the ids HuggingFace's tokenizers gives with 4M's
tokenizer; fourm_text_goldens_test.cc checks maskfeed's builders against the result.

Nothing of ml-4m is committed: point --ml-4m at a checkout of apple/ml-4m (made with commit
cda590f) and --albumentations at albumentations 1.4.0 (the version ml-4m pins; its bbox
functions move det and pose boxes). Needs Debian's python3-numpy, python3-torch,
python3-torchvision, python3-opencv, python3-pil, python3-scipy, python3-skimage and
python3-sklearn (albumentations imports them). einops and qudida, which the text transforms
import but never call, are stand-ins that fail if called.

  build/tools/maskfeed-shard synth --preset 4m-21 --samples 24 --shards 1 --crops 4 \\
      --seed 21 --out /tmp/synth21
  /usr/bin/python3 tests/data/fourm_text/make_goldens.py --ml-4m ML4M --albumentations ALB \\
      --data /tmp/synth21 --out /tmp/fourm_text.jsonl
  NODE_PATH=/tmp/hf/node_modules node tests/data/fourm_text/tokenize_goldens.js \\
      tests/data/4m/text_tokenizer_4m_wordpiece_30k.json /tmp/fourm_text.jsonl \\
      tests/data/fourm_text/goldens.jsonl.gz

The transforms' own random draws are pinned so that each line is one choice of theirs:
the crop variant (PreTokenizedImageAugmenter's np.random.randint) is each row in turn; the
palette size (random.randint) each of 1..7; metadata keys and SAM points and instances are
not shuffled (random.shuffle), pose groups not permuted (torch.randperm); SAM's query points
(get_query_points) are given: the 7 x 7 grid and points on and around each instance's
contour. The test compares maskfeed's output in the same terms (chunks as a multiset, pose
groups and SAM points in canonical order).
"""
import argparse
import hashlib
import importlib.util
import json
import os
import random
import sys
import tarfile
import tempfile
import types

import numpy as np
import torch

FOLDERS = ["caption", "det", "metadata", "color_palette", "human_poses", "sam_instance",
           "t5_caption"]


def stand_in(name, attrs):
    module = types.ModuleType(name)

    def fail(*_args, **_kwargs):
        raise RuntimeError(f"{name} is a stand-in here and must not be called")
    for attr in attrs:
        setattr(module, attr, fail)
    sys.modules[name] = module
    return module


def load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_ml4m(ml4m, albumentations):
    """fourm.data.modality_transforms and image_augmenter, without fourm's package inits
    (they import the models, webdataset and more)."""
    sys.path.insert(0, albumentations)
    stand_in("qudida", ["DomainAdapter"])
    stand_in("einops", ["rearrange", "repeat", "reduce"])
    for package in ("fourm", "fourm.data", "fourm.utils"):
        module = types.ModuleType(package)
        module.__path__ = [os.path.join(ml4m, *package.split("."))]
        sys.modules[package] = module
    constants = load_file("fourm.utils.data_constants",
                          os.path.join(ml4m, "fourm", "utils", "data_constants.py"))
    utils = sys.modules["fourm.utils"]
    utils.data_constants = constants
    utils.to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    for name, value in vars(constants).items():
        if name.isupper():
            setattr(utils, name, value)
    mt = load_file("fourm.data.modality_transforms",
                   os.path.join(ml4m, "fourm", "data", "modality_transforms.py"))
    aug = load_file("fourm.data.image_augmenter",
                    os.path.join(ml4m, "fourm", "data", "image_augmenter.py"))
    return mt, aug


def transforms(mt):
    """The transforms of the modalities tested, constructed as ml-4m's
    modality_info.MODALITY_TRANSFORMS constructs them."""
    return {
        "rgb": mt.RGBTransform(imagenet_default_mean_and_std=True),
        "caption": mt.CaptionTransform(aligned_captions=True),
        "det": mt.DetectionTransform(det_threshold=0.6, det_max_instances=None,
                                     bbox_order="dist_to_orig", coord_bins=1000,
                                     min_visibility=0.0),
        "t5_caption": mt.CaptionEmbTransform(),
        "metadata": mt.MetadataTransform(special_vmin=0, special_vmax=999, shuffle=True,
                                         random_trunc=False, return_chunks=True),
        "human_poses": mt.HumanPoseTransform(coord_bins=1000),
        "color_palette": mt.ColorPaletteTransform(coord_bins=1000),
        "sam_instance": mt.SAMInstanceTokTransform(image_size=224, points_per_side=7,
                                                   point_order="random"),
    }


def read_members(root, folder):
    """key -> (member name, bytes) of the dataset's single shard of `folder`."""
    out = {}
    with tarfile.open(os.path.join(root, folder, "shard-00000.tar")) as tar:
        for info in tar.getmembers():
            key, _, _ = info.name.partition(".")
            out[key] = (info.name, tar.extractfile(info).read())
    return out


def query_point_sets(entry):
    """Sets of 7 query points (x, y) for one SAM entry: the 7 x 7 grid, then points on each
    instance's contour vertices, edge midpoints and just off them."""
    grid = [(int(x), int(y)) for y in np.linspace(0, 224, 9)[1:-1] for x in np.linspace(0, 224, 9)[1:-1]]
    points = list(grid)
    for contours in entry["points"]:
        c = contours[0].reshape(-1, 2)
        for k in range(len(c)):
            x0, y0 = (int(v) for v in c[k])
            x1, y1 = (int(v) for v in c[(k + 1) % len(c)])
            points += [(x0, y0), ((x0 + x1) // 2, (y0 + y1) // 2), (min(x0 + 1, 223), y0),
                       (max(x0 - 1, 0), y0), (x0, min(y0 + 1, 223))]
    return [points[i:i + 7] for i in range(0, len(points), 7)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ml-4m", required=True)
    parser.add_argument("--albumentations", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    mt, aug = import_ml4m(args.ml_4m, args.albumentations)
    tf = transforms(mt)
    members = {f: read_members(args.data, f) for f in FOLDERS + ["rgb", "crop_settings"]}
    scratch = tempfile.mkdtemp()

    def load(folder, key):
        name, data = members[folder][key]
        path = os.path.join(scratch, name)
        with open(path, "wb") as f:
            f.write(data)
        if folder == "rgb":
            return tf["rgb"].load(path)
        if folder == "crop_settings":
            return np.load(path)
        return tf[folder].load(path)

    def unified(key, crop, pinned):
        """ml-4m's UnifiedDataTransform on the sample, with crop variant `crop` and the other
        draws pinned by `pinned` (a dict of monkeypatches)."""
        mod_dict = {f: load(f, key) for f in FOLDERS}
        mod_dict["rgb@224"] = load("rgb", key)
        mod_dict["crop_settings"] = load("crop_settings", key)
        augmenter = aug.PreTokenizedImageAugmenter(target_size=224, no_aug=False,
                                                   main_domain="rgb@224")
        saved = (aug.np.random.randint, mt.random.randint, mt.random.shuffle, mt.torch.randperm)
        aug.np.random.randint = lambda n: crop
        mt.random.shuffle = lambda x: None
        mt.torch.randperm = lambda n: torch.arange(n)
        mt.random.randint = pinned.get("randint", saved[1])
        try:
            sam = tf["sam_instance"]
            sam.get_query_points = pinned.get("points", lambda: np.zeros((0, 2), np.int64))
            return mt.UnifiedDataTransform(transforms_dict=tf, image_augmenter=augmenter)(mod_dict)
        finally:
            aug.np.random.randint, mt.random.randint, mt.random.shuffle, mt.torch.randperm = saved

    lines = []
    for key in sorted(members["caption"]):
        sample = int(key)
        n_crops = len(load("crop_settings", key))
        for crop in range(n_crops):
            out = unified(key, crop, {})
            base = {"sample": sample, "crop": crop}
            lines.append({**base, "modality": "caption", "text": out["caption"]})
            lines.append({**base, "modality": "det", "text": out["det"]})
            lines.append({**base, "modality": "metadata", "chunks": out["metadata"]})
            lines.append({**base, "modality": "human_poses", "text": out["human_poses"]})
            emb = out["t5_caption"].numpy()
            lines.append({**base, "modality": "t5_caption", "shape": list(emb.shape),
                          "dtype": str(emb.dtype),
                          "sha256": hashlib.sha256(emb.tobytes()).hexdigest()})
            for k in range(1, 8):
                out = unified(key, crop, {"randint": lambda lo, hi, k=k: k})
                lines.append({**base, "modality": "color_palette", "k": k,
                              "text": out["color_palette"]})
            entry = load("sam_instance", key)[crop]
            for points in query_point_sets(entry):
                pinned = {"points": lambda p=points: np.array(p, dtype=np.int64)}
                out = unified(key, crop, pinned)
                lines.append({**base, "modality": "sam_instance",
                              "points": [[y, x] for x, y in points],
                              "text": out["sam_instance"]})
    with open(args.out, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} lines for {len(members['caption'])} samples into {args.out}")


if __name__ == "__main__":
    main()
