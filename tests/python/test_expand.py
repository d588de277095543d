"""Expansion of packed batches: the C++ library (maskfeed._native, through ctypes) and the
numpy fallback give the same arrays, and both refuse tensors whose bytes do not fit."""

import os

import grpc
import numpy as np
import pytest

from maskfeed import _expand, _native
from maskfeed.v1 import feed_pb2, feed_pb2_grpc


def packed_batches(address, n, batch_size):
    with grpc.insecure_channel(address,
                               options=[("grpc.max_receive_message_length", -1)]) as channel:
        request = feed_pb2.StreamBatchesRequest(batch_size=batch_size, seed=9, max_batches=n,
                                                encoding=feed_pb2.ENCODING_PACKED)
        return list(feed_pb2_grpc.FeedStub(channel).StreamBatches(request))


def numpy_only(monkeypatch, batch):
    with monkeypatch.context() as m:
        m.setattr(_native, "load", lambda: None)
        return _expand.batch_to_numpy(batch)


@pytest.mark.skipif(os.environ.get("MASKFEED_NATIVE_EXPAND") == "0",
                    reason="no native expansion library in this build (sanitizers)")
def test_native_and_numpy_expansions_agree(start_server, monkeypatch):
    assert _native.load() is not None, "libmaskfeed_expand.so is built beside the package"
    server = start_server()
    for batch_size in (1, 7, 32):
        for message in packed_batches(server.address, 3, batch_size):
            packings = {t.packing for m in message.modalities
                        for t in (m.tensor, m.input_mask, m.target_mask, m.decoder_attention_mask)}
            assert packings == {feed_pb2.PACKING_UINT16, feed_pb2.PACKING_BITS,
                                feed_pb2.PACKING_TARGET_INDICATOR,
                                feed_pb2.PACKING_TARGET_COUNT_AT_FIRST}
            native = _expand.batch_to_numpy(message)
            reference = numpy_only(monkeypatch, message)
            assert list(native) == list(reference)
            for mod in native:
                for name, array in native[mod].items():
                    assert array.dtype == reference[mod][name].dtype, (mod, name)
                    np.testing.assert_array_equal(array, reference[mod][name],
                                                  err_msg=f"{mod}.{name}")


def test_both_paths_refuse_bytes_that_do_not_fit(start_server, monkeypatch):
    server = start_server()
    for field in ("tensor", "input_mask"):
        message = packed_batches(server.address, 1, 8)[0]
        tensor = getattr(message.modalities[1], field)
        tensor.data = tensor.data[:-1]
        with pytest.raises(_expand.WireError, match=f"{message.modalities[1].name}.{field}"):
            _expand.batch_to_numpy(message)
        with pytest.raises(_expand.WireError, match=f"{message.modalities[1].name}.{field}"):
            numpy_only(monkeypatch, message)
