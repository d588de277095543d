"""Training as 4M trains, with 4M's own YAML files: its cc12m data config repeats each sample
4 times (wds_n_repeats) and spreads the copies with a 1,000-sample shuffle buffer; a data
config with two train datasets and weights trains on their mixture. Served by a real
maskfeed-server from a raw 4M-7 dataset that maskfeed-shard synth wrote, read by the Feed and
by `maskfeed fetch`."""

import collections
import os
import subprocess

import numpy as np
import pytest

import maskfeed
from conftest import CLI_BIN, SHARD_BIN, Server

HERE = os.path.dirname(__file__)
CONFIGS = os.path.join(HERE, "..", "data", "4m", "configs")
CC12M = os.path.join(CONFIGS, "cfgs/default/4m/data/cc12m/main/mix_mod7_all2all_rgb2all_a0.5.yaml")
FOLDERS = "caption,crop_settings,det,rgb,tok_clip@224,tok_depth@224,tok_normal@224,tok_rgb@224," \
          "tok_semseg@224"
SAMPLES = 1024


@pytest.fixture(scope="module")
def raw4m7(tmp_path_factory):
    """A raw 4M-7 dataset as 4M stores it (with its tokenizer.json), and its data_path."""
    root = tmp_path_factory.mktemp("cc12m") / "cc12m"
    subprocess.run([SHARD_BIN, "synth", "--preset", "4m-7", "--samples", str(SAMPLES),
                    "--shards", "4", "--format", "tar", "--out", str(root)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root, f"{root}/[{FOLDERS}]/shard-{{00000..00003}}.tar"


def serve(tmp_path, name, raw, *configs):
    root, data_path = raw
    return Server(None, tmp_path / f"{name}.sock", tmp_path / f"{name}.log", extra_args=(
        *[a for c in configs for a in ("--4m-config", c)], "--4m-root", CONFIGS,
        "--4m-data-path", data_path, "--text-tokenizer", str(root / "tokenizer.json")))


def test_cc12m_repeats_are_spread_like_4ms_shuffle_buffer(raw4m7, tmp_path):
    """4M's cc12m config (wds_n_repeats: 4, wds_shuffle_buffer_repeat: 1_000): every sample
    4 times per epoch, and a batch of 128 holds at least the ~112-117 distinct samples 4M's
    buffer gives it (it held 32 with the copies next to each other)."""
    server = serve(tmp_path, "cc12m", raw4m7, CC12M)
    try:
        batches = SAMPLES * 4 // 128
        distinct, counts = [], collections.Counter()
        with maskfeed.Feed(server.address, batch_size=128, seed=3, output="numpy",
                           max_batches=batches) as feed:
            for batch in feed:
                assert set(batch.datasets) == {"cc12m"}
                distinct.append(len(set(batch.samples.tolist())))
                counts.update(batch.samples.tolist())
        assert len(distinct) == batches
        assert set(counts.values()) == {4} and len(counts) == SAMPLES, "4 views each per epoch"
        print(f"distinct samples per batch of 128: mean {np.mean(distinct):.1f}, "
              f"min {min(distinct)}")
        assert np.mean(distinct) >= 126 and min(distinct) >= 117
    finally:
        server.stop()


TWO_DATASETS = """
train:
  datasets:
{entries}
  weights: [0.7, 0.3]
"""


def two_dataset_config(tmp_path):
    """4M's cc12m entry twice, as datasets "cc12m" and "coyo", with weights 0.7 and 0.3."""
    text = open(CC12M).read()
    entry = text.split("datasets:\n", 1)[1].split("\n  weights:", 1)[0]
    body = entry.split("\n", 1)[1]  # the entry's settings, after its "cc12m:" line
    entries = f"    cc12m:\n{body}\n    coyo:\n{body}"
    path = tmp_path / "two.yaml"
    path.write_text(TWO_DATASETS.format(entries=entries))
    return str(path)


def test_a_client_that_names_no_dataset_trains_on_the_configs_mixture(raw4m7, tmp_path):
    """A 4M data config with two train datasets and weights [0.7, 0.3]: Feed(address) and
    `maskfeed fetch` without a dataset get the mixture (0.7 / 0.3 per sample, rows named by
    the config's dataset names); describe says which stream is the default."""
    server = serve(tmp_path, "mix", raw4m7, two_dataset_config(tmp_path))
    try:
        described = subprocess.run([CLI_BIN, "describe", "--address", server.address],
                                   check=True, capture_output=True, text=True).stdout
        assert "dataset 'train' (default)" in described, described
        assert "dataset 'cc12m':" in described and "dataset 'coyo':" in described
        names, first8 = collections.Counter(), collections.Counter()
        with maskfeed.Feed(server.address, batch_size=128, seed=1, output="numpy",
                           max_batches=16) as feed:
            for batch in feed:
                names.update(batch.datasets)
                if batch.sequence < 8:
                    first8.update(batch.datasets)
                assert len(batch.datasets) == len(batch.samples) == 128
        share = names["cc12m"] / (names["cc12m"] + names["coyo"])
        print(f"mixture shares over {sum(names.values())} rows: cc12m {share:.4f}, "
              f"coyo {1 - share:.4f}")
        # Exact per block of 1,024 rows: 717 and 307 (largest remainders).
        assert names == {"cc12m": 2 * 717, "coyo": 2 * 307}
        out = tmp_path / "fetched"
        subprocess.run([CLI_BIN, "fetch", "--address", server.address, "--out", str(out),
                        "--batches", "8", "--batch-size", "128", "--seed", "1"], check=True,
                       capture_output=True)
        fetched = collections.Counter()
        for f in sorted(os.listdir(out)):
            if f.endswith(".npz"):
                fetched.update(np.load(out / f)["dataset_names"].tolist())
        assert fetched == first8, "fetch and the Feed stream the same default"
        # 4M evaluates each dataset on its own: an evaluation pass over the mixture is refused.
        with pytest.raises(maskfeed.FeedError, match="evaluate each of them on its own"):
            with maskfeed.Feed(server.address, batch_size=8, eval="pad") as feed:
                next(iter(feed))
        with maskfeed.Feed(server.address, dataset="coyo", batch_size=128, eval="partial",
                           output="numpy") as feed:
            assert sum(len(b.samples) for b in feed) == SAMPLES
    finally:
        server.stop()


def test_feed_overrides_reach_the_stream(raw4m7, tmp_path):
    """The Feed's per-stream overrides: int64 ids as 4M's tok_to_int64 gives them, repeats and
    token budgets."""
    server = serve(tmp_path, "over", raw4m7, CC12M)
    try:
        with maskfeed.Feed(server.address, batch_size=16, seed=1, output="numpy",
                           max_batches=1, int64_tokens=True, input_tokens=64,
                           target_tokens=32) as feed:
            batch = next(iter(feed))
        assert batch["tok_rgb@224"]["tensor"].dtype == np.int64
        assert batch["caption"]["tensor"].dtype == np.int64
        inputs = sum((~t["input_mask"]).sum(axis=1) for t in batch.values())
        assert (inputs <= 64).all() and (inputs > 0).all()
        with maskfeed.Feed(server.address, batch_size=64, seed=1, output="numpy",
                           max_batches=SAMPLES // 64, n_repeats=1) as feed:
            seen = [s for b in feed for s in b.samples.tolist()]
        assert sorted(seen) == list(range(SAMPLES)), "n_repeats=1: each sample once"
        with pytest.raises(ValueError):
            maskfeed.Feed(server.address, batch_size=8, output="tensorflow")
    finally:
        server.stop()


def test_an_elastic_restart_goes_on_from_the_old_ranks_tokens(start_server):
    """A job of 2 ranks stops after 3 steps; a job of 1 rank (after losing a node) goes on
    from both ranks' last tokens: together they read what one rank reads from the start."""
    server = start_server()
    reference = []
    with maskfeed.Feed(server.address, batch_size=16, seed=5, output="numpy",
                       max_batches=6) as feed:
        for batch in feed:
            reference.append(batch)
    old, tokens = [], []
    for rank in range(2):
        with maskfeed.Feed(server.address, batch_size=8, rank=rank, world_size=2, seed=5,
                           output="numpy", max_batches=3) as feed:
            old.append(list(feed))
            tokens.append(feed.state())
    with maskfeed.Feed(server.address, batch_size=16, seed=5, output="numpy",
                       max_batches=3, resume=tokens) as feed:
        new = list(feed)
    assert [b.sequence for b in new] == [3, 4, 5], "batch numbers go on from the step"
    for step in range(3):
        rows = np.concatenate([old[0][step].samples, old[1][step].samples])
        assert rows.tolist() == reference[step].samples.tolist()
    for step in range(3):
        assert new[step].samples.tolist() == reference[3 + step].samples.tolist()
        for name, tensors in new[step].items():
            for key, value in tensors.items():
                assert np.array_equal(value, reference[3 + step][name][key]), (step, name, key)
    with pytest.raises(maskfeed.FeedError, match="pass the last tokens of all 2 ranks"):
        with maskfeed.Feed(server.address, batch_size=16, seed=5, output="numpy",
                           max_batches=1, resume=tokens[0]) as feed:
            list(feed)


def test_an_evaluation_pass_reads_every_sample_once_then_ends(start_server, tmp_path):
    """Feed(eval=...) and `maskfeed fetch --eval`: every sample of the dataset once, in order,
    then the end; the last batch padded with fully masked rows or partial; 4M's fixed-eval
    budgets through input_tokens / target_tokens."""
    from conftest import SAMPLES as N  # 96
    server = start_server()
    with maskfeed.Feed(server.address, batch_size=40, seed=2, output="numpy", eval="pad",
                       input_tokens=64, target_tokens=64) as feed:
        batches = list(feed)
    assert [len(b.samples) for b in batches] == [40, 40, 40]
    assert [b.padding_rows for b in batches] == [0, 0, 24]
    samples = np.concatenate([b.samples for b in batches])
    assert samples[:N].tolist() == list(range(N)) and (samples[N:] == -1).all()
    last = batches[-1]
    for tensors in last.values():
        assert tensors["input_mask"][16:].all() and tensors["target_mask"][16:].all()
    def inputs(batch):  # visible input tokens per row (text may hold fewer than its budget)
        return sum((~t["input_mask"]).sum(axis=1) for t in batch.values())
    fixed = np.concatenate([inputs(b)[:len(b.samples) - b.padding_rows] for b in batches])
    assert fixed.max() == 64, "the fixed input budget"
    with maskfeed.Feed(server.address, batch_size=40, seed=2, output="numpy",
                       eval="partial") as feed:
        partial = list(feed)
    assert [len(b.samples) for b in partial] == [40, 40, 16]
    assert max(inputs(b).max() for b in partial) > 64, "the dataset's own budget: 128"
    out = tmp_path / "eval"
    subprocess.run([CLI_BIN, "fetch", "--address", server.address, "--out", str(out),
                    "--batch-size", "40", "--eval", "partial"], check=True, capture_output=True)
    fetched = [np.load(out / f) for f in sorted(os.listdir(out)) if f.endswith(".npz")]
    assert [len(f["samples"]) for f in fetched] == [40, 40, 16]
    with pytest.raises(ValueError, match="eval"):
        maskfeed.Feed(server.address, batch_size=8, eval="all")
