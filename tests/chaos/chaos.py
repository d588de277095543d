#!/usr/bin/env python3
"""Chaos test: two maskfeed-servers and several trainer clients (chaos_client.py) run for
--seconds while servers are SIGKILLed and restarted, frozen with SIGSTOP and thawed, and
clients are killed and restarted from their checkpoints; some clients consume slowly. Then
every client's batches are checked against an uninterrupted reference stream (byte-identical
digests, nothing lost or repeated), and each server's RSS is checked against its bound
(limits.max_buffered_bytes over its own idle baseline, plus a margin for gRPC and the
process). Prints one JSON summary line; exit status 0 when everything held.

    /usr/bin/python3 tests/chaos/chaos.py --seconds 60            # what CI runs
    /usr/bin/python3 tests/chaos/chaos.py --seconds 1800 --clients 8 --seed 42
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAX_BUFFERED = 64 << 20
RSS_MARGIN = 128 << 20  # gRPC, TBB, the heap's own slack


def rss(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Server:
    def __init__(self, build, config, socket, log):
        self.args = [os.path.join(build, "server", "maskfeed-server"), "--config", config,
                     "--listen", "unix:" + socket]
        self.log_path = log
        self.socket = socket
        self.process = None
        self.baseline = 0
        self.starts = 0

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start: {open(self.log_path).read()[-2000:]}")
            if open(self.log_path, "rb").read().count(b"event=ready") >= self.starts:
                break
            time.sleep(0.02)
        else:
            raise RuntimeError("server did not become ready")
        self.baseline = rss(self.process.pid)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, sig):
        if self.alive():
            self.process.send_signal(sig)

    def kill(self):
        self.signal(signal.SIGKILL)
        self.process.wait()


class Client:
    def __init__(self, build, args, out, log):
        self.args = [sys.executable, os.path.join(HERE, "chaos_client.py"), *args, "--out", out]
        self.env = dict(os.environ, PYTHONPATH=os.path.join(build, "client", "python"))
        self.out = out
        self.log_path = log
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.args, env=self.env, stdout=open(self.log_path, "ab"),
                                        stderr=subprocess.STDOUT)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def lines(self):
        if not os.path.exists(self.out):
            return []
        return [l.split() for l in open(self.out).read().splitlines() if l.strip()]


def reference_digests(build, socket, rank, world, n, batch_size, seed):
    sys.path.insert(0, os.path.join(build, "client", "python"))
    sys.path.insert(0, HERE)
    import maskfeed
    from chaos_client import batch_digest
    feed = maskfeed.Feed("unix:" + socket, batch_size=batch_size, rank=rank, world_size=world,
                         seed=seed, max_batches=n, output="numpy")
    return [batch_digest(b) for b in feed]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--seed", type=int, default=None, help="the chaos schedule's seed")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    a = p.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    build = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="maskfeed-chaos-")
    batch_size, stream_seed = 16, 7
    counts = {"server_kills": 0, "server_freezes": 0, "client_kills": 0}
    failures = []
    servers, clients = [], []
    finished = False
    try:
        data = os.path.join(work, "data")
        subprocess.run([os.path.join(build, "tools", "maskfeed-shard"), "synth", "--preset", "4m-7-tokens", "--samples",
                        "480", "--shards", "4", "--format", "mfs", "--out", data], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        config = os.path.join(work, "server.textproto")
        with open(config, "w") as f:
            f.write(f'dataset {{ name: "d" path: "{data}" preset: "4m-7-tokens" }}\n'
                    f'metrics_listen: "off" threads: 2\n'
                    f'limits {{ max_streams: 16 max_batch_size: 64 max_buffered_bytes: {MAX_BUFFERED} '
                    f'shutdown_grace_s: 2 }}\n')
        for name in ("a", "b"):
            s = Server(build, config, os.path.join(work, f"{name}.sock"),
                       os.path.join(work, f"server-{name}.log"))
            s.start()
            servers.append(s)
        for r in range(a.clients):
            order = servers if r % 2 == 0 else servers[::-1]
            addresses = ",".join("unix:" + s.socket for s in order)
            args = ["--addresses", addresses, "--rank", str(r), "--world-size", str(a.clients),
                    "--seed", str(stream_seed), "--batch-size", str(batch_size),
                    "--slow-ms", str(40 if r % 2 else 10)]
            c = Client(build, args, os.path.join(work, f"client-{r}.txt"),
                       os.path.join(work, f"client-{r}.log"))
            c.start()
            clients.append(c)

        max_over = 0
        deadline = time.monotonic() + a.seconds
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.5))
            for s in servers:
                if s.alive():
                    over = rss(s.process.pid) - s.baseline
                    max_over = max(max_over, over)
                    if over > MAX_BUFFERED + RSS_MARGIN:
                        failures.append(f"{s.socket}: RSS {over >> 20} MiB over its baseline, "
                                        f"bound {(MAX_BUFFERED + RSS_MARGIN) >> 20}")
            action = rng.choice(["kill_server", "freeze_server", "kill_client", "none"])
            if action == "kill_server":
                s = rng.choice(servers)
                s.kill()
                counts["server_kills"] += 1
                time.sleep(rng.uniform(0.1, 1.5))
                s.start()
            elif action == "freeze_server":
                s = rng.choice(servers)
                s.signal(signal.SIGSTOP)
                counts["server_freezes"] += 1
                time.sleep(rng.uniform(0.5, 4.0))
                s.signal(signal.SIGCONT)
            elif action == "kill_client":
                c = rng.choice(clients)
                c.kill()
                counts["client_kills"] += 1
                c.start()
        for s in servers:
            s.signal(signal.SIGCONT)
        time.sleep(3)  # every client makes progress again after the last fault
        for c in clients:
            c.process.send_signal(signal.SIGTERM)
        for c in clients:
            try:
                c.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                failures.append(f"{c.out}: the client did not stop within 60 s of SIGTERM")
                c.kill()

        # The reference: each rank's stream, uninterrupted, from a fresh server.
        ref = Server(build, config, os.path.join(work, "ref.sock"),
                     os.path.join(work, "server-ref.log"))
        ref.start()
        servers.append(ref)
        checked = 0
        for r, c in enumerate(clients):
            lines = c.lines()
            if len(lines) < 10:
                failures.append(f"client {r}: only {len(lines)} batches in {a.seconds} s")
            for i, l in enumerate(lines):
                if int(l[0]) != i:
                    failures.append(f"client {r}: line {i} has sequence {l[0]}")
                    break
            want = reference_digests(build, ref.socket, r, a.clients, len(lines), batch_size,
                                     stream_seed)
            got = [l[1] for l in lines]
            for i, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    failures.append(f"client {r}: batch {i} differs from the uninterrupted "
                                    f"stream (lost, repeated or changed)")
                    break
            checked += len(lines)
        summary = {"chaos": "maskfeed", "seed": seed, "seconds": a.seconds,
                   "clients": a.clients, "batches_checked": checked, **counts,
                   "max_rss_over_baseline_mib": max_over >> 20,
                   "rss_bound_mib": (MAX_BUFFERED + RSS_MARGIN) >> 20,
                   "ok": not failures}
        print(json.dumps(summary))
        for f in failures:
            print("chaos: FAILED: " + f, file=sys.stderr)
        if failures:
            print(f"chaos: logs in {work} (rerun with --seed {seed})", file=sys.stderr)
        finished = True
        return 0 if not failures else 1
    finally:
        for c in clients:
            if c.process and c.process.poll() is None:
                c.kill()
        for s in servers:
            if s.alive():
                s.signal(signal.SIGCONT)
                s.kill()
        if not a.keep and finished and not failures:
            shutil.rmtree(work, ignore_errors=True)
        elif not finished:
            print(f"chaos: stopped by an error (seed {seed}); logs in {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
