#!/usr/bin/env python3
"""One trainer rank of the chaos test: streams from a list of servers with the Python Feed and
appends one line per batch to --out: "<sequence> <sha256 of the batch> <resume token hex>".
Started again after being killed, it resumes from the token on its file's last line, as a
trainer resumes from its checkpoint. --slow-ms sleeps up to that long per batch (a slow
consumer). Runs until killed or SIGTERM."""
import argparse
import hashlib
import os
import random
import signal
import sys
import time

import maskfeed


def batch_digest(batch):
    h = hashlib.sha256()
    for modality in sorted(batch):
        for key in sorted(batch[modality]):
            a = batch[modality][key]
            h.update(f"{modality}/{key}/{a.dtype.str}/{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addresses", required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world-size", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--slow-ms", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    resume, done = None, 0
    if os.path.exists(a.out):
        lines = [l.split() for l in open(a.out).read().splitlines() if l.strip()]
        if lines:
            resume, done = bytes.fromhex(lines[-1][2]), len(lines)
    feed = maskfeed.Feed(a.addresses.split(","), batch_size=a.batch_size, rank=a.rank,
                         world_size=a.world_size, seed=a.seed, resume=resume, output="numpy",
                         reconnect_timeout=300.0, stall_timeout=2.0, max_backoff=0.5)
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    rng = random.Random(a.rank * 1000 + done)
    for batch in feed:
        # One write per line: a SIGKILL never leaves half a line.
        os.write(fd, f"{done} {batch_digest(batch)} {feed.state().hex()}\n".encode())
        done += 1
        if stop:
            break
        if a.slow_ms:
            time.sleep(rng.uniform(0, a.slow_ms) / 1000)
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
