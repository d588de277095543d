"""4M-21 end to end on raw data: `maskfeed-shard synth --preset 4m-21` writes 4M-21's raw
layout as 4M stores it (NumPy reads its SAM pickles and T5 npz files as it reads its own), and
maskfeed-server serves it with default limits — chosen by its folders (preset 4m-21) and
through 4M-21's own YAML files — to the Feed. (Each text-built modality's ids are checked
against ml-4m's transforms in tests/pipeline/text/fourm_text_goldens_test.cc.)"""

import io
import os
import subprocess
import tarfile

import numpy as np
import pytest

import maskfeed
from conftest import CLI_BIN, SHARD_BIN, Server

HERE = os.path.dirname(__file__)
CONFIGS = os.path.join(HERE, "..", "data", "4m", "configs")
MODEL21 = os.path.join(CONFIGS, "cfgs/default/4m/models/main/4m-b_mod21_500b.yaml")
SAMPLES = 48
# What 4M-21's cc12m trains on (its data config's in_domains), rgb@224 from the rgb folder.
MODALITIES = ["caption", "t5_caption", "det", "metadata", "rgb@224", "tok_rgb@224",
              "tok_normal@224", "tok_depth@224", "tok_semseg@224", "tok_clip@224",
              "human_poses", "tok_dinov2@224", "tok_dinov2_global", "tok_imagebind@224",
              "tok_imagebind_global", "tok_sam_edge@224", "tok_canny_edge@224", "color_palette",
              "sam_instance"]


@pytest.fixture(scope="module")
def raw4m21(tmp_path_factory):
    root = tmp_path_factory.mktemp("fourm21") / "cc12m"
    subprocess.run([SHARD_BIN, "synth", "--preset", "4m-21", "--samples", str(SAMPLES),
                    "--shards", "2", "--out", str(root)], check=True, capture_output=True)
    return root


def member(root, folder, index):
    with tarfile.open(root / folder / "shard-00000.tar") as tar:
        info = tar.getmembers()[index]
        return info.name, tar.extractfile(info).read()


def test_the_layout_is_4ms_as_numpy_reads_it(raw4m21):
    name, data = member(raw4m21, "sam_instance", 3)
    assert name.endswith(".npy")
    entries = np.load(io.BytesIO(data), allow_pickle=True)
    assert entries.dtype == object and entries.shape == (4,)  # one per crop variant
    for entry in entries:
        n = len(entry["points"])
        assert entry["token_ids"].shape == (n, 16) and entry["token_ids"].dtype == np.int64
        assert entry["bbox"].shape == (n, 4) and entry["bbox"].dtype == np.float32
        for contours in entry["points"]:
            assert contours[0].dtype == np.int32 and contours[0].shape[1:] == (1, 2)
            assert contours[0].min() >= 0 and contours[0].max() < 224
    name, data = member(raw4m21, "t5_caption", 3)
    assert name.endswith(".npz")
    t5 = np.load(io.BytesIO(data))
    emb, valid = t5["emb"], t5["mask_valid"]
    assert emb.dtype == np.float16 and emb.shape[0] == 4 and emb.shape[2] == 4096
    assert valid.shape == emb.shape[:2] and valid.dtype == bool and valid[:, 0].all()
    crops = np.load(io.BytesIO(member(raw4m21, "crop_settings", 3)[1]))
    assert crops.shape == (4, 5)
    assert np.load(io.BytesIO(member(raw4m21, "tok_dinov2@224", 3)[1])).shape == (4, 256)
    assert np.load(io.BytesIO(member(raw4m21, "tok_imagebind_global", 3)[1])).shape == (4, 16)


def check_batches(address, batch_size, **feed_args):
    """Two batches hold every 4M-21 modality, each row from a real sample."""
    with maskfeed.Feed(address, batch_size=batch_size, seed=2, output="numpy", max_batches=2,
                       **feed_args) as feed:
        batches = list(feed)
    assert len(batches) == 2
    for batch in batches:
        assert sorted(m for m in batch.keys()) == sorted(MODALITIES)
        t5 = batch["t5_caption"]
        assert t5["tensor"].shape == (batch_size, 77, 4096)
        shown = (~t5["input_mask"].astype(bool)).sum(axis=1)
        assert shown.max() > 0, "some row shows T5 rows"
        for text in ("caption", "det", "metadata", "human_poses", "color_palette",
                     "sam_instance"):
            assert batch[text]["tensor"].max() < 30000
        assert batch["rgb@224"]["tensor"].shape == (batch_size, 3, 224, 224)
        assert set(batch.samples.tolist()) <= set(range(SAMPLES))
    return batches


def test_served_by_the_4m21_preset_with_default_limits(raw4m21, tmp_path):
    """--data on the folder picks preset 4m-21 by its folders; no limit is raised, and a batch
    of 64 (77 x 4096 T5 rows each) streams on an ordinary machine."""
    server = Server(raw4m21, tmp_path / "p.sock", tmp_path / "p.log")
    try:
        log = open(tmp_path / "p.log").read()
        assert "preset=4m-21" in log, log
        described = subprocess.run([CLI_BIN, "describe", "--address", server.address],
                                   check=True, capture_output=True, text=True).stdout
        assert "t5_caption" in described and "sam_instance" in described, described
        check_batches(server.address, 64)
    finally:
        assert server.stop() == 0


def test_served_by_4m21s_own_yaml(raw4m21, tmp_path):
    """4M-21's model config, its data config (cc12m; COYO and C4 left out: they are other
    datasets) and its alphas file, with the data_path pointed at the synthetic folders."""
    folders = ",".join(sorted(d for d in os.listdir(raw4m21) if (raw4m21 / d).is_dir()))
    data_path = f"{raw4m21}/[{folders}]/shard-{{00000..00001}}.tar"
    server = Server(None, tmp_path / "y.sock", tmp_path / "y.log", extra_args=(
        "--4m-config", MODEL21, "--4m-root", CONFIGS, "--4m-datasets", "cc12m",
        "--4m-data-path", data_path, "--text-tokenizer", str(raw4m21 / "tokenizer.json")))
    try:
        for batch in check_batches(server.address, 32):
            assert set(batch.datasets) == {"cc12m"}
    finally:
        assert server.stop() == 0
