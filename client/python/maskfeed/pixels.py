"""4M's RGB normalisation of the uint8 pixels a server sends (docs/pixels.md).

A pixel modality (`rgb@S`) travels as uint8 (B, 3, S, S): a quarter of the bytes of 4M's
float32 tensor. The trainer turns it into what 4M's RGBTransform gives, bit for bit:

    v = float32(p) / 255;  out = (v - mean_c) / std_c   (float32, channel-first)

with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) as float32.

`normalize` works on a torch tensor on any device, so a trainer can move the uint8 batch to
the GPU first and normalise there; `normalize_numpy` is the same on numpy arrays (the Feed's
default). Both divide by tensors, never by a Python number: CUDA kernels turn a division by
a CPU scalar into a multiplication by its reciprocal, which is not correctly rounded and
would differ from 4M's CPU result in the last bit.
"""

import numpy as np

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

_MEAN32 = np.array(MEAN, dtype=np.float32).reshape(3, 1, 1)
_STD32 = np.array(STD, dtype=np.float32).reshape(3, 1, 1)


def is_pixels(array):
    """Whether a batch's `tensor` is a pixel modality's: uint8 (B, 3, S, S)."""
    return array.dtype == np.uint8 and array.ndim == 4 and array.shape[1] == 3


def normalize_numpy(pixels):
    """uint8 (..., 3, H, W) -> float32 of the same shape, 4M's values."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim < 3 or pixels.shape[-3] != 3:
        raise ValueError(f"normalize_numpy: wants uint8 (..., 3, H, W), got {pixels.dtype} "
                         f"{pixels.shape}")
    out = np.empty(pixels.shape, dtype=np.float32)
    out[...] = pixels  # exact: every uint8 is a float32
    # In place, in float32, in the formula's order: each step correctly rounded as torch's.
    np.divide(out, np.float32(255), out=out)
    out -= _MEAN32
    out /= _STD32
    return out


def normalize(pixels):
    """A torch uint8 tensor (..., 3, H, W) on any device -> float32 on that device, 4M's
    values bit for bit (the same as torchvision's to-tensor + normalize on the CPU)."""
    import torch  # optional dependency

    if pixels.dtype != torch.uint8 or pixels.dim() < 3 or pixels.shape[-3] != 3:
        raise ValueError(f"normalize: wants uint8 (..., 3, H, W), got {pixels.dtype} "
                         f"{tuple(pixels.shape)}")
    device = pixels.device
    full = torch.full((3, 1, 1), 255.0, dtype=torch.float32, device=device)
    mean = torch.tensor(MEAN, dtype=torch.float32, device=device).reshape(3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32, device=device).reshape(3, 1, 1)
    out = pixels.to(torch.float32)
    out.div_(full).sub_(mean).div_(std)
    return out
