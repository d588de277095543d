"""maskfeed.Feed: an iterator of 4M-layout batches from a maskfeed-server.

A background thread receives batches ahead of the caller (`prefetch` of them), expands packed
tensors with numpy, and, when a server goes away (UNAVAILABLE) or is full
(RESOURCE_EXHAUSTED), reconnects to the next address with exponential backoff and resumes
from the token of the last batch it received: the caller sees no gap and no repeat.
`state()` is the token to checkpoint; Feed(..., resume=token) continues right after it.
"""

import ctypes
import os
import queue
import threading
import time

import grpc

from maskfeed import _expand, pixels as _pixels
from maskfeed.v1 import feed_pb2, feed_pb2_grpc

_RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
_END = object()
_malloc_tuned = False


def _keep_large_allocations_in_heap():
    """glibc hands blocks over 128 KB back to the kernel when freed, so each batch's arrays
    (and grpcio's message copies) would come back as fresh pages to fault in and zero: three
    quarters of the expansion time. Keeps them in the heap for reuse instead, as the C++
    client does. Once per process, glibc only; MASKFEED_MALLOC_TUNING=0 leaves malloc be."""
    global _malloc_tuned
    if _malloc_tuned or os.environ.get("MASKFEED_MALLOC_TUNING", "1") == "0":
        return
    _malloc_tuned = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, 32 << 20)  # the largest value glibc accepts
    mallopt(m_trim_threshold, 512 << 20)


def _tls_credentials(tls, ca, cert, key):
    """grpc.ChannelCredentials from PEM file paths, or None for plaintext."""
    if not (tls or ca or cert or key):
        return None
    if bool(cert) != bool(key):
        raise ValueError("tls_cert and tls_key: a client certificate needs its key (both or "
                         "neither)")

    def read(name, path):
        if not path:
            return None
        try:
            with open(path, "rb") as f:
                pem = f.read()
        except OSError as e:
            raise ValueError(f"{name}: cannot read {path}: {e.strerror}") from None
        if b"-----BEGIN " not in pem:
            raise ValueError(f"{name}: {path} is not a PEM file")
        return pem

    return grpc.ssl_channel_credentials(root_certificates=read("tls_ca", ca),
                                        private_key=read("tls_key", key),
                                        certificate_chain=read("tls_cert", cert))


class FeedError(RuntimeError):
    """A stream ended with an error reconnecting cannot fix; `code` is the grpc.StatusCode."""

    def __init__(self, code, message):
        super().__init__(f"{code.name}: {message}")
        self.code = code


class Feed:
    """Iterates batches of one rank: dicts {modality: {"tensor", "input_mask", "target_mask",
    "decoder_attention_mask"}} in sorted modality order, masks bool with True = excluded. Each
    is a maskfeed Batch (a dict) that also names its rows: batch.datasets (per row, the config
    name of the sample's dataset), batch.samples (per row, its index there), batch.sequence.

    resume: this rank's last state() (bytes) to go on after it; or, to go on at another world
    size or batch size (an elastic restart), a list of the last state() of every rank of the
    old job, saved after the same step (each new rank passes the whole list).
    dataset: a dataset or mixture the server describes; "" (default) = the server's default,
    what its config trains on (a 4M data config's mixture of train datasets).
    eval: None (training: endless, shuffled, repeated) or an evaluation pass, as 4M's validation
    loop reads a dataset: every sample once, in order, crop variant 0, then the feed ends;
    "pad" fills the last batch with padding rows (every mask True, batch.padding_rows counts
    them; every rank gets as many batches), "partial" cuts it to the rows it has. With
    input_tokens / target_tokens: 4M's fixed-eval budgets.
    int64_tokens: token ids as int64, as 4M's tok_to_int64 gives them (default int32).
    n_repeats, epoch_size, input_tokens, target_tokens: this stream's overrides of the
    dataset's config (0 keeps it): views of each sample per epoch, views per epoch, and the
    total input / target token budgets per sample.

    address: "host:port", "unix:/path", or a list of them (tried in order on failure).
    output: "torch" (tensors) or "numpy" (arrays; plain tensors are views of the message).
    encoding: "packed" (about 4x fewer bytes, expanded here) or "plain".
    pixels: what a pixel modality's (rgb@S) "tensor" is: "float" (default), 4M's normalised
    float32 (B, 3, S, S), bit for bit what its RGBTransform gives (computed here, ahead of
    the caller); or "uint8", the bytes as they came: move them to the GPU (four times fewer
    bytes) and call maskfeed.pixels.normalize there for the same values.
    max_batches: stop after this many (0 = endless). reconnect_timeout: seconds without a
    batch after which reconnecting gives up. stall_timeout: seconds a call may keep the feed
    waiting for its next batch before it is cancelled and the feed fails over (a frozen
    server, a partition TCP does not see); keep it below reconnect_timeout. Keepalive pings
    also close a transport whose server stops answering.
    tls_ca, tls_cert, tls_key: PEM file paths for "host:port" addresses of a server started
    with --tls-cert: the CA bundle that signed the server's certificate (None: the system's
    roots), and this client's certificate and key for mutual TLS. Giving any of them (or
    tls=True) turns TLS on; tls_server_name overrides the name the server's certificate must
    carry. Unix sockets stay plaintext (the server guards them with file permissions).
    """

    def __init__(self, address, *, batch_size, rank=0, world_size=1, seed=0, resume=None,
                 prefetch=2, output="torch", dataset="", encoding="packed", pixels="float",
                 max_batches=0, eval=None, int64_tokens=False, n_repeats=0, epoch_size=0,
                 input_tokens=0, target_tokens=0,
                 reconnect_timeout=60.0, stall_timeout=30.0, initial_backoff=0.05,
                 max_backoff=2.0, tls=False, tls_ca=None, tls_cert=None, tls_key=None,
                 tls_server_name=None):
        if output not in ("torch", "numpy"):
            raise ValueError(f"output: must be 'torch' or 'numpy', got {output!r}")
        if encoding not in ("packed", "plain"):
            raise ValueError(f"encoding: must be 'packed' or 'plain', got {encoding!r}")
        if pixels not in ("float", "uint8"):
            raise ValueError(f"pixels: must be 'float' or 'uint8', got {pixels!r}")
        if eval not in (None, "pad", "partial"):
            raise ValueError(f"eval: must be None, 'pad' or 'partial', got {eval!r}")
        if output == "torch":
            import torch  # noqa: F401  (fail now rather than in the background thread)
        self._credentials = _tls_credentials(tls, tls_ca, tls_cert, tls_key)
        self._tls_server_name = tls_server_name
        _keep_large_allocations_in_heap()
        self._addresses = [address] if isinstance(address, str) else list(address)
        if not self._addresses:
            raise ValueError("address: at least one")
        old_ranks = list(resume) if isinstance(resume, (list, tuple)) else []
        if old_ranks and not all(isinstance(t, (bytes, bytearray)) for t in old_ranks):
            raise ValueError("resume: bytes, or a list of the old ranks' bytes tokens")
        if old_ranks:
            resume = None
        self._request = feed_pb2.StreamBatchesRequest(
            dataset=dataset, batch_size=batch_size, rank=rank, world_size=world_size, seed=seed,
            resume_token=resume or b"", resume_tokens=old_ranks, max_batches=max_batches,
            encoding=feed_pb2.ENCODING_PACKED if encoding == "packed" else feed_pb2.ENCODING_PLAIN,
            overrides=feed_pb2.StreamOverrides(
                int64_tokens=bool(int64_tokens), n_repeats=n_repeats, epoch_size=epoch_size,
                input_tokens=input_tokens, target_tokens=target_tokens))
        if eval is not None:
            self._request.eval.last_batch = (feed_pb2.EvalPass.LAST_BATCH_PARTIAL
                                             if eval == "partial"
                                             else feed_pb2.EvalPass.LAST_BATCH_PAD)
        self._output = output
        self._normalize_pixels = pixels == "float"
        # Before the first batch, what was given (the old ranks' list resumes the same way).
        self._state = old_ranks if old_ranks else bytes(resume or b"")
        self._queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._call = None  # guarded by _lock
        self._waiting_since = None  # guarded by _lock: when the wait for the next batch began
        self._stalled = False  # guarded by _lock: the watchdog cancelled that wait
        self._stall_timeout = stall_timeout
        self._connections = 0
        self._reconnect_timeout = reconnect_timeout
        self._backoff = (initial_backoff, max_backoff)
        self._done = False
        self._error = None
        self._thread = threading.Thread(target=self._run, name="maskfeed-feed", daemon=True)
        self._thread.start()
        self._watchdog = threading.Thread(target=self._watch, name="maskfeed-watchdog",
                                          daemon=True)
        self._watchdog.start()

    # -- the caller's side --

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            # A feed that ended with an error keeps raising it: a training loop must not
            # mistake a failure for the end of the data.
            if self._error is not None:
                raise self._error
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._done = True
            self._error = item
            raise item
        batch, token = item
        self._state = token
        return _expand.numpy_to_torch(batch) if self._output == "torch" else batch

    def state(self):
        """The resume token (bytes) right after the last batch returned (before the first: what
        `resume` was)."""
        return self._state

    @property
    def connections(self):
        """Connections opened so far (1 + reconnections)."""
        return self._connections

    def close(self):
        """Stops the background thread and its call."""
        self._stop.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()
        while self._thread.is_alive():
            try:  # unblock a put() waiting for room
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)
        self._watchdog.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # -- the background threads --

    def _watch(self):
        """Cancels the call in progress when it keeps the feed waiting past stall_timeout."""
        tick = max(0.01, self._stall_timeout / 4)
        while not self._stop.wait(tick):
            with self._lock:
                if (self._call is not None and self._waiting_since is not None
                        and not self._stalled
                        and time.monotonic() - self._waiting_since > self._stall_timeout):
                    self._stalled = True
                    self._call.cancel()

    def _next_message(self, messages):
        """The call's next message (StopIteration at its end), timed for the watchdog."""
        with self._lock:
            self._waiting_since = time.monotonic()
        try:
            return next(messages)
        finally:
            with self._lock:
                self._waiting_since = None

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        token = bytes(self._request.resume_token)
        limit = self._request.max_batches
        received = 0
        index = 0
        backoff, max_backoff = self._backoff
        last_progress = time.monotonic()
        options = [("grpc.max_receive_message_length", -1), ("grpc.use_local_subchannel_pool", 1),
                   # Pings notice a server that stopped answering; the server permits them.
                   ("grpc.keepalive_time_ms", 10000), ("grpc.keepalive_timeout_ms", 10000),
                   ("grpc.http2.max_pings_without_data", 0)]
        while not self._stop.is_set():
            if limit and received == limit:  # a server may end with an error after the last
                self._put(_END)
                return
            address = self._addresses[index]
            index = (index + 1) % len(self._addresses)
            request = feed_pb2.StreamBatchesRequest()
            request.CopyFrom(self._request)
            if token:  # after a batch of this stream: its own token, not the old job's
                request.resume_token = token
                del request.resume_tokens[:]
            if limit:
                request.max_batches = limit - received
            if self._credentials is not None and not address.startswith("unix:"):
                tls_options = options + ([("grpc.ssl_target_name_override",
                                           self._tls_server_name)]
                                         if self._tls_server_name else [])
                channel = grpc.secure_channel(address, self._credentials, options=tls_options)
            else:
                channel = grpc.insecure_channel(address, options=options)
            try:
                stub = feed_pb2_grpc.FeedStub(channel)
                call = stub.StreamBatches(request)
                with self._lock:
                    self._call = call
                self._connections += 1
                if self._stop.is_set():
                    call.cancel()
                try:
                    messages = iter(call)
                    while True:
                        try:
                            message = self._next_message(messages)
                        except StopIteration:
                            break
                        batch = _expand.batch_to_numpy(message)
                        if self._normalize_pixels:
                            for tensors in batch.values():
                                if _pixels.is_pixels(tensors["tensor"]):
                                    tensors["tensor"] = _pixels.normalize_numpy(
                                        tensors["tensor"])
                        token = message.resume_token
                        received += 1
                        last_progress = time.monotonic()
                        backoff = self._backoff[0]
                        if not self._put((batch, token)):
                            return
                    self._put(_END)
                    return
                except grpc.RpcError as e:
                    if self._stop.is_set():
                        return
                    code, details = e.code(), e.details()
                    with self._lock:
                        stalled, self._stalled = self._stalled, False
                    if stalled:
                        code = grpc.StatusCode.UNAVAILABLE
                        details = (f"no batch for {self._stall_timeout} s (stall_timeout): "
                                   "the server may be frozen or unreachable")
                except _expand.WireError as e:
                    self._put(FeedError(grpc.StatusCode.DATA_LOSS, f"{address}: {e}"))
                    return
            finally:
                with self._lock:
                    self._call = None
                channel.close()
            if code not in _RETRYABLE or time.monotonic() - last_progress > self._reconnect_timeout:
                self._put(FeedError(code, f"{address}: {details}"))
                return
            if index == 0 and self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, max_backoff)
