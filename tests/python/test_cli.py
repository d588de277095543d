"""`maskfeed fetch` and `maskfeed preview` against a real server, read back with numpy and an
XML parser and compared with what maskfeed.Feed receives for the same request."""

import base64
import io
import subprocess
import xml.etree.ElementTree as ET

import numpy as np

import maskfeed
from conftest import CLI_BIN, SHARD_BIN, Server


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
        classes = [r.get("class").replace("patch ", "") for r in g.findall("svg:rect", ns)]
        t = batch[mod]
        assert len(classes) == t["input_mask"].shape[1]
        assert classes.count("input") == int((~t["input_mask"][row]).sum()), mod
        assert classes.count("target") == int((~t["target_mask"][row]).sum()), mod


def test_preview_shows_the_rgb_crop_under_its_patch_mask(tmp_path):
    """On the real 4m-7 (synth's raw layout): each row's rgb@224 block is the crop the encoder
    sees (a JPEG of the served pixels, 224 x 224) under 196 patches classed by their role."""
    from PIL import Image
    data = tmp_path / "raw"
    subprocess.run([SHARD_BIN, "synth", "--samples", "24", "--shards", "2", "--out", str(data)],
                   check=True, capture_output=True)
    server = Server(data, tmp_path / "px.sock", tmp_path / "px.log")
    try:
        svg = tmp_path / "px.svg"
        cli("preview", "--address", server.address, "--batch-size", "8", "--rows", "8",
            "--seed", "3", "--out", str(svg))
        batch = feed_batches(server, 1, batch_size=8, seed=3, pixels="uint8")[0]
    finally:
        server.stop()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    shown = 0
    for g in ET.parse(svg).getroot().findall("svg:g", ns):
        if g.get("data-modality") != "rgb@224":
            continue
        row = int(g.get("data-row"))
        t = batch["rgb@224"]
        patches = [r.get("class") for r in g.findall("svg:rect", ns)]
        assert len(patches) == 196 and all(c.startswith("patch ") for c in patches)
        assert patches.count("patch input") == int((~t["input_mask"][row]).sum())
        assert "patch target" not in patches  # rgb is never a target
        (image,) = g.findall("svg:image", ns)
        href = image.get("href")
        assert href.startswith("data:image/jpeg;base64,")
        drawn = np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))))
        assert drawn.shape == (224, 224, 3)
        served = t["tensor"][row].transpose(1, 2, 0).astype(np.int32)
        assert np.abs(drawn.astype(np.int32) - served).mean() < 6, row  # JPEG at quality 90
        shown += bool(served.any())
    assert shown > 0
