#!/usr/bin/env python3
"""4M's rgb@S path in Python on the images of a pixel-bench manifest, one thread: Pillow's
open + convert("RGB") + crop + resize(BICUBIC) + transpose, then to-tensor + normalize
(torchvision's, as 4M's RGBTransform does; the same torch operations when torchvision is
absent). Prints one JSON line per group, like maskfeed-bench-pixels.

    pixel_bench_pillow.py MANIFEST [SIZE] [SECONDS]
"""
import io
import json
import os
import sys
import time

import torch
from PIL import Image

torch.set_num_threads(1)
try:
    import torchvision.transforms.functional as TF
    to_tensor, normalize, impl = TF.to_tensor, TF.normalize, "pillow+torchvision"
except ImportError:
    def to_tensor(img):
        t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        return t.view(img.size[1], img.size[0], 3).permute(2, 0, 1).contiguous().float().div(255)

    def normalize(t, mean, std):
        m = torch.tensor(mean).view(3, 1, 1)
        s = torch.tensor(std).view(3, 1, 1)
        return t.sub(m).div(s)
    impl = "pillow+torch"

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def main():
    manifest = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3
    root = os.path.dirname(manifest)
    groups = {}
    for line in open(manifest):
        c = json.loads(line)
        with open(os.path.join(root, c["file"]), "rb") as f:
            c["bytes"] = f.read()
        groups.setdefault(c["group"], []).append(c)
    for group in sorted(groups):
        images, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for c in groups[group]:
                img = Image.open(io.BytesIO(c["bytes"])).convert("RGB")
                img = img.crop((c["left"], c["top"], c["left"] + c["crop_width"],
                                c["top"] + c["crop_height"]))
                img = img.resize((size, size), Image.BICUBIC)
                if c["flip"]:
                    img = img.transpose(Image.FLIP_LEFT_RIGHT)
                normalize(to_tensor(img), MEAN, STD)
                images += 1
        elapsed = time.perf_counter() - start
        print(json.dumps({"bench": "pixels", "impl": impl, "source": group, "size": size,
                          "images": images, "seconds": elapsed,
                          "images_per_s": images / elapsed}))


if __name__ == "__main__":
    main()
