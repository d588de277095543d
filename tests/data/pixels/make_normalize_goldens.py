#!/usr/bin/env python3
"""Writes normalize_goldens.txt: for each channel c and value p, the float32 bits of what 4M's
RGBTransform gives a pixel — torchvision's to_tensor (a float32 division by 255) then
normalize (tensor.sub_(mean).div_(std) with float32 (3, 1, 1) mean and std) — computed by
torch itself on the CPU. One line per channel: 256 hexadecimal uint32.

    /usr/bin/python3 tests/data/pixels/make_normalize_goldens.py > tests/data/pixels/normalize_goldens.txt
"""
import numpy as np
import torch

pixels = torch.arange(256, dtype=torch.uint8).repeat(3, 1).reshape(3, 1, 256)
out = pixels.to(torch.float32).div(255)
mean = torch.as_tensor([0.485, 0.456, 0.406], dtype=torch.float32).view(-1, 1, 1)
std = torch.as_tensor([0.229, 0.224, 0.225], dtype=torch.float32).view(-1, 1, 1)
out.sub_(mean).div_(std)
bits = out.numpy().reshape(3, 256).view(np.uint32)
print(f"# torch {torch.__version__}: channel-major float32 bits of (p / 255 - mean_c) / std_c")
for c in range(3):
    print(" ".join(f"{b:08x}" for b in bits[c]))
