"""maskfeed.pixels: 4M's RGB normalisation (docs/raw-modalities.md#rgbs step 5, invariant 4) on
numpy and torch, against the table of docs/raw-modalities.md (invariant 4) and torchvision's
arithmetic written out."""

import numpy as np
import pytest

from conftest import torchvision_normalize
from maskfeed import pixels

torch = pytest.importorskip("torch")

# docs/raw-modalities.md invariant 4: a constant image p gives these float32 values per channel.
SPEC = {0: (-2.1179039, -2.0357141, -1.8044444),
        128: (0.0740646, 0.2051822, 0.4264926),
        255: (2.2489083, 2.4285715, 2.6400001)}


def every_value():
    """(2, 3, 16, 16) uint8 holding each of the 256 values in each channel."""
    plane = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.stack([np.stack([plane, plane[::-1], plane.T])] * 2)


@pytest.mark.parametrize("p", sorted(SPEC))
def test_constant_images_give_the_specs_values(p):
    image = np.full((1, 3, 4, 4), p, dtype=np.uint8)
    for out in (pixels.normalize_numpy(image), pixels.normalize(torch.from_numpy(image)).numpy()):
        assert out.dtype == np.float32
        for c in range(3):
            # the table prints 7 decimals of the float32: equal to within half the last one
            assert np.all(np.abs(out[0, c].astype(np.float64) - SPEC[p][c]) <= 5e-8), \
                (p, c, out[0, c, 0, 0])


def test_every_value_is_torchvisions_bit_for_bit():
    image = every_value()
    expected = torchvision_normalize(torch.from_numpy(image)).numpy()
    np.testing.assert_array_equal(pixels.normalize_numpy(image), expected)
    np.testing.assert_array_equal(pixels.normalize(torch.from_numpy(image)).numpy(), expected)
    # and not just close: one ulp off anywhere would fail
    assert expected.view(np.uint32).tobytes() == \
        pixels.normalize_numpy(image).view(np.uint32).tobytes()


def test_reachable_from_a_plain_import():
    import subprocess
    import sys
    code = ("import maskfeed, numpy; "
            "print(maskfeed.pixels.normalize_numpy(numpy.zeros((3, 1, 1), numpy.uint8))[0, 0, 0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "-2.117904"


def test_normalize_keeps_device_and_shape():
    image = torch.from_numpy(every_value()[0])  # (3, 16, 16): a single image works too
    out = pixels.normalize(image)
    assert out.device == image.device and out.shape == image.shape
    if torch.cuda.is_available():  # the GPU gives the CPU's bits (no reciprocal division)
        gpu = pixels.normalize(image.cuda()).cpu()
        assert torch.equal(gpu, out)


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4, 4), np.float32),
                                 np.zeros((2, 4, 4, 4), np.uint8), np.zeros((4, 4), np.uint8)])
def test_refuses_what_is_not_uint8_rgb(bad):
    with pytest.raises(ValueError, match="uint8"):
        pixels.normalize_numpy(bad)
    with pytest.raises(ValueError, match="uint8"):
        pixels.normalize(torch.from_numpy(bad))
