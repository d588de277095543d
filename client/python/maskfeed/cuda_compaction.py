"""A thin ctypes binding of the fused CUDA compaction kernel (client/cuda, libmaskfeed_cuda.so)
taking torch tensors.

    from maskfeed import cuda_compaction
    if cuda_compaction.available():
        (x_kept, emb_kept), index, kept_mask = cuda_compaction.compact(input_mask, [x, emb], 128)

It computes what maskfeed.compaction.encoder gathers — the stable partition of each row by the
mask, the first `keep` slots, masked slots zeroed — for any number of (B, L, ...) tensors in one
launch. The library is found through MASKFEED_CUDA_LIB, next to this package, or in the build
tree.
"""

import ctypes
import os

from maskfeed import _native

_MAX_TENSORS = 8
_lib = None


def load():
    """The library (cached); OSError naming where it looked when it is not there."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _native.candidates("MASKFEED_CUDA_LIB", "libmaskfeed_cuda.so", "cuda"):
        tried.append(path)
        if os.path.exists(path):
            lib = ctypes.CDLL(path)
            lib.maskfeed_compact.restype = ctypes.c_int
            lib.maskfeed_compact.argtypes = [
                ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int,
                ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
                ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
            lib.maskfeed_cuda_device_count.restype = ctypes.c_int
            lib.maskfeed_cuda_error_string.restype = ctypes.c_char_p
            lib.maskfeed_cuda_error_string.argtypes = [ctypes.c_int]
            _lib = lib
            return lib
    raise OSError("libmaskfeed_cuda.so not found (build with nvcc, or set MASKFEED_CUDA_LIB); "
                  "looked at " + ", ".join(tried))


def available():
    """Whether the library loads and sees a CUDA device."""
    try:
        return load().maskfeed_cuda_device_count() > 0
    except OSError:
        return False


def compact(mask, tensors, keep, stream=None):
    """mask: (B, L) bool or uint8 CUDA tensor, True = excluded. tensors: up to 8 contiguous
    CUDA tensors shaped (B, L, ...). Returns ([(B, keep, ...) per tensor], index (B, keep)
    int32, kept_mask (B, keep) bool)."""
    import torch

    lib = load()
    if mask.dim() != 2:
        raise ValueError(f"mask: expected (B, L), got {tuple(mask.shape)}")
    if not mask.is_cuda:
        raise ValueError("mask: must be a CUDA tensor")
    if len(tensors) > _MAX_TENSORS:
        raise ValueError(f"tensors: at most {_MAX_TENSORS}")
    b, length = mask.shape
    if not 0 < keep <= length:
        raise ValueError(f"keep: must be in 1..{length}, got {keep}")
    mask_u8 = mask.to(torch.uint8).contiguous()
    outs, row_bytes = [], []
    for i, t in enumerate(tensors):
        if t.device != mask.device or t.shape[:2] != mask.shape or not t.is_contiguous():
            raise ValueError(f"tensors[{i}]: must be contiguous (B, L, ...) on {mask.device}")
        outs.append(torch.empty((b, keep, *t.shape[2:]), dtype=t.dtype, device=t.device))
        row_bytes.append(t[0, 0].numel() * t.element_size())
    index = torch.empty((b, keep), dtype=torch.int32, device=mask.device)
    kept = torch.empty((b, keep), dtype=torch.uint8, device=mask.device)
    n = len(tensors)
    src = (ctypes.c_void_p * max(n, 1))(*[t.data_ptr() for t in tensors])
    dst = (ctypes.c_void_p * max(n, 1))(*[o.data_ptr() for o in outs])
    sizes = (ctypes.c_int64 * max(n, 1))(*row_bytes)
    if stream is None:
        stream = torch.cuda.current_stream(mask.device).cuda_stream
    err = lib.maskfeed_compact(mask_u8.data_ptr(), b, length, keep, n, src, dst, sizes,
                               index.data_ptr(), kept.data_ptr(), stream)
    if err != 0:
        raise RuntimeError("maskfeed_compact: " + lib.maskfeed_cuda_error_string(err).decode())
    return outs, index, kept.bool()
