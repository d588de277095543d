"""maskfeed.Feed against real servers: the 4M layout (docs/masking.md#the-batch), mask invariants (docs/masking.md#invariants),
packed == plain, resume from state(), failover to a second server after a SIGKILL, errors."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest

import maskfeed
from conftest import CLI_BIN

IMAGES = ["tok_clip@224", "tok_depth@224", "tok_normal@224", "tok_rgb@224", "tok_semseg@224"]
SEQUENCES = ["caption", "det"]


def take(feed, n):
    out = []
    for _ in range(n):
        out.append(next(feed))
    return out


def assert_same(a, b):
    assert list(a) == list(b)
    for mod in a:
        for name in a[mod]:
            assert a[mod][name].dtype == b[mod][name].dtype, (mod, name)
            np.testing.assert_array_equal(a[mod][name], b[mod][name], err_msg=f"{mod}.{name}")


def test_batches_have_the_4m_layout(start_server):
    server = start_server()
    with maskfeed.Feed(server.address, batch_size=16, seed=3, output="numpy",
                       max_batches=2) as feed:
        batches = list(feed)
    assert len(batches) == 2
    batch = batches[0]
    assert list(batch) == sorted(IMAGES + SEQUENCES)
    for mod, t in batch.items():
        assert list(t) == ["tensor", "input_mask", "target_mask", "decoder_attention_mask"]
        n = 196 if mod in IMAGES else 2 * 256 + 2
        assert t["tensor"].shape == (16, n) and t["tensor"].dtype == np.int32
        assert t["input_mask"].shape == (16, n) and t["input_mask"].dtype == np.bool_
        assert t["target_mask"].shape == (16, n) and t["target_mask"].dtype == np.bool_
        assert t["decoder_attention_mask"].dtype == np.int32


def test_masks_satisfy_the_reference_invariants(start_server):
    server = start_server()
    with maskfeed.Feed(server.address, batch_size=32, seed=5, output="numpy",
                       max_batches=3) as feed:
        for batch in feed:
            inputs = sum((~t["input_mask"]).sum(axis=1) for t in batch.values())
            targets = sum((~t["target_mask"]).sum(axis=1) for t in batch.values())
            assert (inputs <= 128).all() and (targets <= 128).all()
            for mod, t in batch.items():
                inp, tgt = ~t["input_mask"], ~t["target_mask"]
                dam = t["decoder_attention_mask"]
                assert not (inp & tgt).any(), f"{mod}: inputs and targets are disjoint"
                if mod in IMAGES:
                    # At most one non-zero entry: the target count at the first target.
                    assert ((dam != 0).sum(axis=1) <= 1).all()
                    np.testing.assert_array_equal(dam.sum(axis=1), tgt.sum(axis=1))
                    rows = np.nonzero(tgt.any(axis=1))[0]
                    assert (dam[rows, tgt[rows].argmax(axis=1)] == tgt[rows].sum(axis=1)).all()
                else:
                    np.testing.assert_array_equal(dam, tgt.astype(np.int32))
                    assert (t["tensor"][~inp & ~tgt] == 0).all(), f"{mod}: PAD elsewhere"


def test_packed_and_plain_encodings_agree(start_server):
    server = start_server()
    kwargs = dict(batch_size=16, seed=11, output="numpy", max_batches=3)
    with maskfeed.Feed(server.address, encoding="packed", **kwargs) as packed, \
            maskfeed.Feed(server.address, encoding="plain", **kwargs) as plain:
        packed_batches, plain_batches = list(packed), list(plain)
    assert len(packed_batches) == len(plain_batches) == 3
    for a, b in zip(packed_batches, plain_batches):
        assert_same(a, b)


def test_state_resumes_exactly_in_a_new_feed(start_server):
    server = start_server()
    with maskfeed.Feed(server.address, batch_size=16, seed=2, output="numpy") as feed:
        take(feed, 3)
        state = feed.state()
    assert isinstance(state, bytes) and state
    with maskfeed.Feed(server.address, batch_size=16, seed=2, output="numpy",
                       resume=state) as resumed, \
            maskfeed.Feed(server.address, batch_size=16, seed=2, output="numpy") as straight:
        expected = take(straight, 5)[3:]
        got = take(resumed, 2)
        assert len(got) == len(expected) == 2
        for a, b in zip(got, expected):
            assert_same(a, b)


def test_killing_the_server_fails_over_without_gap_or_repeat(start_server):
    first, second = start_server("first"), start_server("second")
    with maskfeed.Feed([first.address, second.address], batch_size=16, seed=4, prefetch=1,
                       output="numpy", initial_backoff=0.01) as feed:
        got = take(feed, 2)
        first.stop(signal.SIGKILL)
        # Batches already sent by the first server stay buffered in the client: read on
        # until the feed has reconnected, then a few more.
        while feed.connections < 2 and len(got) < 500:
            got += take(feed, 1)
        assert feed.connections >= 2
        got += take(feed, 3)
    with maskfeed.Feed(second.address, batch_size=16, seed=4, output="numpy") as straight:
        for a, b in zip(got, take(straight, len(got))):
            assert_same(a, b)


def test_a_frozen_server_is_failed_over_without_gap_or_repeat(start_server):
    # SIGSTOP keeps the connection open and silent: the stall watchdog must fail over. The
    # stream is longer than what gRPC's windows and the socket can hold (~29 MB packed), so
    # the first server cannot have sent all of it before it froze, however fast it ran.
    first, second = start_server("first"), start_server("second")
    total = 400
    with maskfeed.Feed([first.address, second.address], batch_size=16, seed=4, prefetch=1,
                       output="numpy", initial_backoff=0.01, stall_timeout=1.5,
                       reconnect_timeout=30, max_batches=total) as feed:
        got = take(feed, 2)
        first.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            got += list(feed)
            assert time.monotonic() - started < 30
        finally:
            first.process.send_signal(signal.SIGCONT)
        assert feed.connections >= 2
    assert len(got) == total
    with maskfeed.Feed(second.address, batch_size=16, seed=4, output="numpy") as straight:
        for a, b in zip(got, take(straight, total)):
            assert_same(a, b)


def test_errors_name_the_field(start_server):
    server = start_server()
    feed = maskfeed.Feed(server.address, batch_size=0, output="numpy")
    with pytest.raises(maskfeed.FeedError) as err:
        next(feed)
    assert err.value.code.name == "INVALID_ARGUMENT"
    assert "batch_size" in str(err.value)
    for _ in range(2):  # the error again, never a clean end
        with pytest.raises(maskfeed.FeedError) as again:
            next(feed)
        assert again.value is err.value
    feed.close()
    with pytest.raises(maskfeed.FeedError) as err:
        next(iter(maskfeed.Feed(server.address, batch_size=4, dataset="nope", output="numpy")))
    assert err.value.code.name == "NOT_FOUND"
    with pytest.raises(ValueError):
        maskfeed.Feed(server.address, batch_size=4, output="pandas")


def test_cli_bench_json_parses(start_server):
    server = start_server()
    out = subprocess.run([CLI_BIN, "bench", "--address", server.address, "--batches", "3",
                          "--batch-size", "8", "--json"], check=True, capture_output=True,
                         text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["samples"] == 24
    for key in ("seconds", "samples_per_s", "bytes_per_s", "batch_latency_ms_p50",
                "batch_latency_ms_p99"):
        assert result[key] > 0
