"""Turns Batch messages (proto/maskfeed/v1/feed.proto) into 4M-layout dicts of numpy arrays.

Plain tensors become zero-copy views of the message's bytes; packed ones (ENCODING_PACKED)
are expanded: bit masks unpacked, uint16 ids widened, decoder attention values derived from
the target mask by the rule the server checked for every row — by the C++ library when
_native finds it, by numpy otherwise (the same results).
"""

import math

import numpy as np

from maskfeed import _native
from maskfeed.v1 import dataset_pb2, feed_pb2

_DTYPES = {
    dataset_pb2.DTYPE_INT8: np.dtype("<i1"),
    dataset_pb2.DTYPE_INT16: np.dtype("<i2"),
    dataset_pb2.DTYPE_INT32: np.dtype("<i4"),
    dataset_pb2.DTYPE_INT64: np.dtype("<i8"),
    dataset_pb2.DTYPE_UINT8: np.dtype("u1"),
    dataset_pb2.DTYPE_UINT16: np.dtype("<u2"),
    dataset_pb2.DTYPE_UINT32: np.dtype("<u4"),
    dataset_pb2.DTYPE_FLOAT16: np.dtype("<f2"),
    dataset_pb2.DTYPE_FLOAT32: np.dtype("<f4"),
}

_NAMES = ("tensor", "input_mask", "target_mask", "decoder_attention_mask")


class WireError(ValueError):
    """A tensor whose bytes do not fit its dtype, shape or packing."""


def _plain(t, where):
    dtype = _DTYPES.get(t.dtype)
    if dtype is None:
        raise WireError(f"{where}: unknown dtype {t.dtype}")
    shape = tuple(t.shape)
    count = math.prod(shape)
    data = t.data  # a protobuf bytes field is copied on every access: read it once
    if t.packing == feed_pb2.PACKING_NONE:
        if len(data) != count * dtype.itemsize:
            raise WireError(f"{where}: {len(data)} bytes for {count} values of {dtype}")
        return np.frombuffer(data, dtype=dtype).reshape(shape)
    if t.packing == feed_pb2.PACKING_BITS:
        if dtype != np.uint8:
            raise WireError(f"{where}: bit-packed {dtype}")
        cols = shape[-1]
        row_bytes = (cols + 7) // 8
        if len(data) != count // cols * row_bytes:
            raise WireError(f"{where}: {len(data)} bit-packed bytes for shape {shape}")
        lib = _native.load()
        if lib is not None:
            out = np.empty(shape, dtype=np.uint8)
            lib.maskfeed_unpack_bits(data, len(data), count // cols, cols, out.ctypes.data)
            return out
        packed = np.frombuffer(data, dtype=np.uint8)
        bits = np.unpackbits(packed.reshape(-1, row_bytes), axis=1, count=cols,
                             bitorder="little")
        return bits.reshape(shape)
    if t.packing == feed_pb2.PACKING_UINT16:
        if len(data) != count * 2:
            raise WireError(f"{where}: {len(data) / 2:g} uint16 ids for {count} values")
        lib = _native.load()
        if lib is not None and dtype in (np.int32, np.int64) and count:
            out = np.empty(shape, dtype=dtype)
            lib.maskfeed_unpack_uint16(data, len(data), count // shape[-1], shape[-1],
                                       dtype == np.int64, out.ctypes.data)
            return out
        return np.frombuffer(data, dtype="<u2").astype(dtype).reshape(shape)
    raise WireError(f"{where}: packing {t.packing} cannot stand alone")


def _derived(t, target_mask, where):
    """Decoder attention values from the (expanded) target mask."""
    shape = tuple(t.shape)
    if target_mask.shape != shape:
        raise WireError(f"{where}: shape {shape} does not match target_mask {target_mask.shape}")
    lib = _native.load()
    if lib is not None and target_mask.size:
        mask = np.ascontiguousarray(target_mask, dtype=np.uint8)
        out = np.empty(shape, dtype=np.int32)
        derive = (lib.maskfeed_derive_target_indicator
                  if t.packing == feed_pb2.PACKING_TARGET_INDICATOR
                  else lib.maskfeed_derive_target_count_at_first)
        derive(mask.ctypes.data, mask.size // shape[-1], shape[-1], out.ctypes.data)
        return out
    targets = target_mask == 0
    if t.packing == feed_pb2.PACKING_TARGET_INDICATOR:
        return targets.astype(np.int32)
    # PACKING_TARGET_COUNT_AT_FIRST: the count at each row's first target, 0 elsewhere.
    flat = targets.reshape(-1, shape[-1])
    out = np.zeros(flat.shape, dtype=np.int32)
    counts = flat.sum(axis=1, dtype=np.int32)
    rows = np.nonzero(counts)[0]
    out[rows, flat[rows].argmax(axis=1)] = counts[rows]
    return out.reshape(shape)


class Batch(dict):
    """{modality: {tensor, input_mask, target_mask, decoder_attention_mask}}, in sorted modality
    order, that also says what its rows are: `datasets` (per row, the config name of the dataset
    the sample came from: a mixture's component, or the one dataset), `samples` (per row, the
    sample's index within that dataset; int64, -1 for padding), `sequence` (this rank's batch
    index) and `padding_rows` (evaluation passes: the last rows that hold no sample, every
    mask True)."""

    __slots__ = ("datasets", "samples", "sequence", "padding_rows")

    def __init__(self, *args, datasets=(), samples=None, sequence=0, padding_rows=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.datasets = list(datasets)
        self.samples = np.zeros(0, dtype=np.int64) if samples is None else samples
        self.sequence = sequence
        self.padding_rows = padding_rows

    def __reduce__(self):  # pickles (torch DataLoader workers) with its row information
        return (_rebuild_batch, (dict(self), self.datasets, self.samples, self.sequence,
                                 self.padding_rows))


def _rebuild_batch(items, datasets, samples, sequence, padding_rows=0):
    return Batch(items, datasets=datasets, samples=samples, sequence=sequence,
                 padding_rows=padding_rows)


def _rows(batch, where):
    """The per-row dataset names and sample indices of a Batch message."""
    names = list(batch.dataset_names)
    if not names:  # a server from before rows were named: the index is all there is
        return [str(d) for d in batch.datasets], np.array(batch.samples, dtype=np.uint64).view(
            np.int64)
    datasets = []
    for d in batch.datasets:
        if d >= len(names):
            raise WireError(f"{where}: row names dataset {d} of {len(names)}")
        datasets.append(names[d])
    return datasets, np.array(batch.samples, dtype=np.uint64).view(np.int64)


def batch_to_numpy(batch):
    """A Batch message as {modality: {tensor, input_mask, target_mask, decoder_attention_mask}}
    of numpy arrays, masks as bool (True = excluded), in sorted modality order: a Batch, with
    its rows' datasets and samples."""
    datasets, samples = _rows(batch, f"batch {batch.sequence}")
    out = Batch(datasets=datasets, samples=samples, sequence=batch.sequence,
                padding_rows=batch.padding_rows)
    for m in batch.modalities:
        where = f"batch {batch.sequence}, {m.name}"
        tensors = {}
        for name in ("tensor", "input_mask", "target_mask"):
            tensors[name] = _plain(getattr(m, name), f"{where}.{name}")
        dam = m.decoder_attention_mask
        if dam.packing in (feed_pb2.PACKING_TARGET_INDICATOR,
                           feed_pb2.PACKING_TARGET_COUNT_AT_FIRST):
            tensors["decoder_attention_mask"] = _derived(dam, tensors["target_mask"],
                                                         f"{where}.decoder_attention_mask")
        else:
            tensors["decoder_attention_mask"] = _plain(dam, f"{where}.decoder_attention_mask")
        for name in ("input_mask", "target_mask"):
            if tensors[name].dtype != np.uint8:
                raise WireError(f"{where}.{name}: masks must be uint8")
            tensors[name] = tensors[name].view(np.bool_)
        out[m.name] = {name: tensors[name] for name in _NAMES}
    return out


def numpy_to_torch(batch):
    """The same dict with torch tensors sharing the arrays' memory."""
    import torch  # optional dependency

    def convert(a):
        if not a.flags.writeable:  # views of message bytes: torch wants writable memory
            a = a.copy()
        return torch.from_numpy(a)

    out = Batch({mod: {k: convert(v) for k, v in t.items()} for mod, t in batch.items()},
                datasets=getattr(batch, "datasets", ()), sequence=getattr(batch, "sequence", 0),
                padding_rows=getattr(batch, "padding_rows", 0))
    out.samples = convert(getattr(batch, "samples", np.zeros(0, dtype=np.int64)))
    return out
