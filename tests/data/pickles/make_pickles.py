"""Writes the NumPy object-array pickles the C++ tests read (numpy_pickle_test.cc,
sam_text_test.cc), with NumPy itself, as np.save(allow_pickle=True) writes them (protocol 3;
protocols 2 and 4 with the same header, as older and newer writers pickle):

  values_p{2,3,4}.npy  one dict of every kind of value 4M's pickles hold, in protocols 2-4
  sam_p{2,3,4}.npy     4M's sam_instance layout: one entry per crop variant, each a dict of
                       contours ("points"), token ids (int64) and boxes (float32)
  hostile.npy          an object whose pickle calls os.system (written, never loaded)

Run with Debian's python3 and python3-numpy from the repository root:
  /usr/bin/python3 tests/data/pickles/make_pickles.py
"""
import io
import os
import pathlib
import pickle

import numpy as np

OUT = pathlib.Path(__file__).parent


def save(name, array, protocol):
    """np.save's bytes (it pickles with protocol 3); other protocols as it would write them."""
    out = io.BytesIO()
    if protocol == 3:
        np.lib.format.write_array(out, array, allow_pickle=True)
    else:
        np.lib.format.write_array_header_1_0(out, np.lib.format.header_data_from_array_1_0(array))
        pickle.dump(array, out, protocol=protocol)
    (OUT / name).write_bytes(out.getvalue())


def values():
    entry = {
        "none": None,
        "true": True,
        "small": -7,
        "big": 2**40 + 3,
        "real": 0.25,
        "text": "caf\u00e9 \u2713",
        "raw": b"\x00\xffbytes",
        "list": [1, "two", [3.5]],
        "tuple": (4, 5),
        "nested": {"k": (None, False)},
        "ints": np.arange(6, dtype=np.int16).reshape(2, 3),
        "reals": np.array([0.5, -1.5], dtype=np.float64),
        "flags": np.array([True, False, True]),
    }
    array = np.empty(1, dtype=object)
    array[0] = entry
    return array


# 4M's sam_instance for a 224x224 crop: a square over the whole crop and a triangle, each a
# contour list as OpenCV gives it ((n, 1, 2) int32); token ids 16 per instance.
SQUARE = np.array([[[0, 0]], [[223, 0]], [[223, 223]], [[0, 223]]], dtype=np.int32)
TRIANGLE = np.array([[[10, 10]], [[150, 10]], [[10, 150]]], dtype=np.int32)


def sam():
    entries = np.empty(2, dtype=object)
    for crop in range(2):
        entries[crop] = {
            "points": [[SQUARE], [TRIANGLE, "ignored"]],
            "token_ids": np.arange(32, dtype=np.int64).reshape(2, 16) * 30 + crop,
            "bbox": np.array([[0.0, 0.0, 223.9, 223.9], [10.0, 10.0, 150.5, 150.5]],
                             dtype=np.float32),
        }
    return entries


class Hostile:
    def __reduce__(self):
        return (os.system, ("echo the pickle ran a command",))


def main():
    for protocol in (2, 3, 4):
        save(f"values_p{protocol}.npy", values(), protocol)
        save(f"sam_p{protocol}.npy", sam(), protocol)
    hostile = np.empty(1, dtype=object)
    hostile[0] = Hostile()
    save("hostile.npy", hostile, 3)


if __name__ == "__main__":
    main()
