"""maskfeed: stream masked 4M-style batches from a maskfeed-server into a training loop.

    import maskfeed
    feed = maskfeed.Feed("unix:/run/maskfeed/feed.sock", batch_size=128, rank=r, world_size=w,
                         seed=0, resume=checkpoint.get("feed"), output="torch")
    for batch in feed:                  # {modality: {tensor, input_mask, target_mask,
        loss = model(batch)             #              decoder_attention_mask}}
        checkpoint["feed"] = feed.state()

Pixel modalities (rgb@S) come as 4M's normalised float32 (B, 3, S, S); pixels="uint8" gives
the bytes as sent, for maskfeed.pixels.normalize on the GPU.

Needs Debian's python3-grpcio, python3-protobuf and python3-numpy; torch only for
output="torch", maskfeed.compaction and maskfeed.pixels.normalize.
"""

__all__ = ["Feed", "FeedError"]
__version__ = "0.1.0"


_SUBMODULES = ("pixels", "compaction", "cuda_compaction")


def __getattr__(name):
    # Loaded on first use, so that maskfeed.compaction and maskfeed.cuda_compaction work
    # where grpc is not installed (a GPU box checking the kernel).
    if name in __all__:
        from maskfeed import _feed
        return getattr(_feed, name)
    if name in _SUBMODULES:  # maskfeed.pixels.normalize(...) after a plain `import maskfeed`
        import importlib
        return importlib.import_module(f"maskfeed.{name}")
    raise AttributeError(f"module 'maskfeed' has no attribute {name!r}")
