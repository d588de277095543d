"""`maskfeed fetch` and `maskfeed preview` against a real server, read back with numpy and an
XML parser and compared with what maskfeed.Feed receives for the same request."""

import subprocess
import xml.etree.ElementTree as ET

import numpy as np

import maskfeed
from conftest import CLI_BIN


def cli(*args):
    return subprocess.run([CLI_BIN, *args], check=True, capture_output=True, text=True)


def feed_batches(server, n, **request):
    """The first n batches maskfeed.Feed receives for the same request, as numpy arrays."""
    with maskfeed.Feed(server.address, output="numpy", max_batches=n, **request) as feed:
        return list(feed)


def test_fetch_writes_npz_that_numpy_loads(start_server, tmp_path):
    server = start_server()
    out = tmp_path / "batches"
    cli("fetch", "--address", server.address, "--batches", "2", "--batch-size", "8",
        "--seed", "6", "--out", str(out))
    expected = feed_batches(server, 3, batch_size=8, seed=6)
    for k in range(2):
        z = np.load(out / f"batch-{k:06d}.npz")
        assert int(z["sequence"]) == k
        for mod, tensors in expected[k].items():
            for name, want in tensors.items():
                got = z[f"{mod}/{name}"]
                np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=f"{mod}.{name}")
    # The saved token continues the stream.
    cli("fetch", "--address", server.address, "--batches", "1", "--batch-size", "8",
        "--seed", "6", "--resume", str(out / "resume_token"), "--out", str(out))
    z = np.load(out / "batch-000002.npz")
    np.testing.assert_array_equal(z["tok_rgb@224/tensor"], expected[2]["tok_rgb@224"]["tensor"])


def test_preview_draws_every_mask_cell(start_server, tmp_path):
    server = start_server()
    svg = tmp_path / "masks.svg"
    cli("preview", "--address", server.address, "--batch-size", "8", "--rows", "3",
        "--seed", "2", "--out", str(svg))
    batch = feed_batches(server, 1, batch_size=8, seed=2)[0]
    ns = {"svg": "http://www.w3.org/2000/svg"}
    groups = ET.parse(svg).getroot().findall("svg:g", ns)
    assert len(groups) == 3 * len(batch)
    for g in groups:
        mod, row = g.get("data-modality"), int(g.get("data-row"))
        classes = [r.get("class") for r in g.findall("svg:rect", ns)]
        t = batch[mod]
        assert len(classes) == t["input_mask"].shape[1]
        assert classes.count("input") == int((~t["input_mask"][row]).sum()), mod
        assert classes.count("target") == int((~t["target_mask"][row]).sum()), mod
