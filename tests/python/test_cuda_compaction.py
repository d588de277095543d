"""The ctypes binding of the CUDA kernel. Without a GPU only what can be checked on a CPU
machine runs (the library loads, says there is no device, and refuses bad arguments); on a
GPU machine the kernel must equal maskfeed.compaction bit for bit."""

import os

import pytest

torch = pytest.importorskip("torch")

from maskfeed import compaction, cuda_compaction  # noqa: E402

needs_library = pytest.mark.skipif(not os.environ.get("MASKFEED_CUDA_LIB"),
                                   reason="built without the CUDA kernel")


@needs_library
def test_library_loads_and_reports_devices():
    lib = cuda_compaction.load()
    assert lib.maskfeed_cuda_device_count() >= 0
    assert cuda_compaction.available() == (lib.maskfeed_cuda_device_count() > 0)
    assert lib.maskfeed_cuda_error_string(1)  # cudaErrorInvalidValue has a name


@needs_library
def test_invalid_arguments_are_refused_before_any_device_work():
    lib = cuda_compaction.load()
    # keep > length is rejected by the C ABI itself, with no device involved.
    err = lib.maskfeed_compact(None, 1, 4, 8, 0, None, None, None, None, None, None)
    assert err != 0
    with pytest.raises(ValueError):
        cuda_compaction.compact(torch.zeros(2, 4, dtype=torch.bool), [], 2)  # CPU tensor


@pytest.mark.skipif(not cuda_compaction.available() or not torch.cuda.is_available(),
                    reason="no CUDA device")
def test_kernel_equals_the_torch_path_bitwise():
    g = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    b, length, d, keep = 8, 300, 64, 100
    mask = (torch.rand(b, length, generator=g) < 0.6).cuda()
    x = torch.randn(b, length, d, generator=g).to(torch.bfloat16).cuda()
    mod = torch.randint(0, 7, (b, length), generator=g, dtype=torch.int16).cuda()
    (x_kept,), index, kept = cuda_compaction.compact(mask, [x], keep)
    ref = compaction.encoder(x, torch.zeros_like(x), mask, mod, keep)
    assert torch.equal(index.long(), ref.index)
    assert torch.equal(kept, ref.mask)
    assert torch.equal(x_kept.view(torch.int16), ref.x.view(torch.int16))
