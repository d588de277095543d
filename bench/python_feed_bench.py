#!/usr/bin/env python3
"""The Python client's throughput: N concurrent maskfeed.Feed streams (ranks 0..N-1 of N),
each consumed in its own process as trainer ranks are (--threads: threads of one process
instead), 2 warm-up batches per stream excluded. Prints one JSON line.

    PYTHONPATH=build/client/python /usr/bin/python3 bench/python_feed_bench.py \
        --address unix:/tmp/feed.sock [--streams 1] [--batches 200] [--batch-size 128] \
        [--output numpy|torch] [--encoding packed|plain] [--pixels float|uint8]
"""

import argparse
import json
import multiprocessing
import os
import threading
import time

import maskfeed

WARMUP = 2


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--address", default="127.0.0.1:50051")
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--output", choices=["numpy", "torch"], default="numpy")
    p.add_argument("--encoding", choices=["packed", "plain"], default="packed")
    p.add_argument("--pixels", choices=["float", "uint8"], default="float",
                   help="rgb@S as 4M's normalised float32 (default) or the bytes")
    p.add_argument("--threads", action="store_true",
                   help="consume the streams on threads of one process (shares the GIL)")
    args = p.parse_args()
    if not args.threads and args.streams > 1:
        return by_processes(args)

    feeds = [maskfeed.Feed(args.address, batch_size=args.batch_size, rank=r,
                           world_size=args.streams, output=args.output, encoding=args.encoding,
                           pixels=args.pixels, max_batches=args.batches + WARMUP) for r in range(args.streams)]
    warm = threading.Barrier(args.streams + 1)
    samples = [0] * args.streams
    nbytes = [0] * args.streams

    def consume(i):
        for _ in range(WARMUP):
            next(feeds[i])
        warm.wait()
        for batch in feeds[i]:
            samples[i] += len(next(iter(batch.values()))["tensor"])
            nbytes[i] += sum(t.nbytes if hasattr(t, "nbytes") else t.numel() * t.element_size()
                             for m in batch.values() for t in m.values())

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(args.streams)]
    for t in threads:
        t.start()
    warm.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    for f in feeds:
        f.close()
    print(json.dumps({"bench": "python_feed", "address": args.address, "streams": args.streams,
                      "output": args.output, "encoding": args.encoding, "pixels": args.pixels,
                      "batch_size": args.batch_size, "batches": args.batches,
                      "samples": sum(samples), "seconds": round(seconds, 4),
                      "samples_per_s": round(sum(samples) / seconds),
                      "bytes_per_s": round(sum(nbytes) / seconds), "cores": os.cpu_count()}))


def _one_rank(args, rank, warm, results):
    feed = maskfeed.Feed(args.address, batch_size=args.batch_size, rank=rank,
                         world_size=args.streams, output=args.output, encoding=args.encoding,
                         pixels=args.pixels, max_batches=args.batches + WARMUP)
    for _ in range(WARMUP):
        next(feed)
    warm.wait()
    start, samples = time.monotonic(), 0
    for batch in feed:
        samples += len(next(iter(batch.values()))["tensor"])
    results.put((samples, time.monotonic() - start))
    feed.close()


def by_processes(args):
    ctx = multiprocessing.get_context("spawn")
    warm, results = ctx.Barrier(args.streams), ctx.Queue()
    procs = [ctx.Process(target=_one_rank, args=(args, r, warm, results))
             for r in range(args.streams)]
    for proc in procs:
        proc.start()
    runs = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    samples = sum(n for n, _ in runs)
    seconds = max(t for _, t in runs)
    print(json.dumps({"bench": "python_feed", "address": args.address, "streams": args.streams,
                      "processes": args.streams, "output": args.output,
                      "encoding": args.encoding, "batch_size": args.batch_size,
                      "batches": args.batches, "samples": samples, "seconds": round(seconds, 4),
                      "samples_per_s": round(samples / seconds), "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
