#!/usr/bin/env python3
"""Regenerates the fuzz targets' seed corpora in fuzz/corpus/ (committed; run again when a
format changes). Inputs named regression_* are fixed findings and are left in place. Uses
numpy and tarfile for third-party-made .npy and tar files, the build's
maskfeed-shard for .mfs shards, and a real maskfeed-server for wire messages and tokens.

    /usr/bin/python3 fuzz/make_seeds.py [BUILD_DIR]     (default build/)
"""
import io
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
sys.path.insert(0, os.path.join(BUILD, "client", "python"))
from maskfeed.v1 import feed_pb2, feed_pb2_grpc  # noqa: E402
import grpc  # noqa: E402


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(array):
    b = io.BytesIO()
    np.save(b, array)
    return b.getvalue()


def npy_seeds():
    put("npy_fuzzer", "int32_2x3.npy", npy(np.arange(6, dtype=np.int32).reshape(2, 3)))
    put("npy_fuzzer", "float32_4.npy", npy(np.linspace(0, 1, 4, dtype=np.float32)))
    put("npy_fuzzer", "uint8_scalar.npy", npy(np.uint8(7)))
    put("npy_fuzzer", "int64_0.npy", npy(np.zeros((0, 5), dtype=np.int64)))
    put("npy_fuzzer", "bool_3.npy", npy(np.array([True, False, True])))


def tar_seeds():
    def archive(members, fmt):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return b.getvalue()

    tokens = npy(np.arange(8, dtype=np.int32).reshape(2, 4))
    put("tar_fuzzer", "ustar.tar", archive([("00000.npy", tokens), ("00001.npy", tokens)],
                                           tarfile.USTAR_FORMAT))
    put("tar_fuzzer", "gnu_longname.tar", archive([("k" * 120 + ".npy", tokens)],
                                                   tarfile.GNU_FORMAT))
    put("tar_fuzzer", "pax.tar", archive([("p" * 130 + ".npy", tokens)], tarfile.PAX_FORMAT))


def mfs_seeds(work):
    out = os.path.join(work, "mfs")
    subprocess.run([os.path.join(BUILD, "tools", "maskfeed-shard"), "synth", "--preset", "4m-7-tokens", "--samples", "2",
                    "--shards", "1", "--format", "mfs", "--crops", "2", "--out", out],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for modality in ("caption", "tok_rgb@224", "crop_settings"):
        folder = os.path.join(out, modality)
        if not os.path.isdir(folder):
            continue
        shard = sorted(os.listdir(folder))[0]
        with open(os.path.join(folder, shard), "rb") as f:
            data = f.read()
        if len(data) <= 64 << 10:
            put("mfs_fuzzer", modality.replace("@", "_") + ".mfs", data)
    return out


def config_seeds():
    put("config_fuzzer", "server.textproto", b'''
dataset { name: "a" path: "/data/a" preset: "4m-7-tokens" skip_corrupt_records: true }
dataset { name: "b" path: "/data/b" masking { preset: "4m-7-tokens" input_tokens { max: 256 } } }
mixture { name: "m" component { dataset: "a" weight: 3 } component { dataset: "b" weight: 1 } }
listen: "unix:/run/maskfeed/feed.sock" listen: "0.0.0.0:50051"
tls { cert_file: "c.pem" key_file: "k.pem" client_ca_file: "ca.pem" }
socket_mode: "0660" socket_group: "trainers" threads: 4 metrics_listen: "127.0.0.1:9464"
limits { max_streams: 16 max_batch_size: 512 max_repeats: 4 queue_depth: 3
         shutdown_grace_s: 10 max_buffered_bytes: 1073741824 }
''')
    put("config_fuzzer", "data_path.txt",
        b"root/[rgb,caption,tok_rgb@224]/shard-{00000..00009}.tar")
    put("config_fuzzer", "masking.textproto", b'''
preset: "4m-7-tokens" input_tokens { max: 128 } target_tokens { max: 128 }
''')


def stream_seeds(data, work):
    sock = os.path.join(work, "seed.sock")
    log = open(os.path.join(work, "server.log"), "wb")
    server = subprocess.Popen([os.path.join(BUILD, "server", "maskfeed-server"), "--data", data,
                               "--listen", "unix:" + sock, "--metrics-listen", "off",
                               "--threads", "1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        stub = feed_pb2_grpc.FeedStub(grpc.insecure_channel("unix:" + sock))
        requests = {
            "plain": feed_pb2.StreamBatchesRequest(batch_size=2, seed=1, max_batches=2),
            "packed": feed_pb2.StreamBatchesRequest(batch_size=2, seed=2, max_batches=2,
                                                    encoding=feed_pb2.ENCODING_PACKED),
            "ranks": feed_pb2.StreamBatchesRequest(batch_size=1, rank=1, world_size=2,
                                                   max_batches=1),
        }
        for name, request in requests.items():
            batches = list(stub.StreamBatches(request))
            put("expand_fuzzer", f"{name}.batch", batches[0].SerializeToString())
            put("resume_token_fuzzer", f"{name}.token", batches[0].resume_token)
            resumed = feed_pb2.StreamBatchesRequest()
            resumed.CopyFrom(request)
            resumed.resume_token = batches[0].resume_token
            put("stream_request_fuzzer", f"{name}.request", request.SerializeToString())
            put("stream_request_fuzzer", f"{name}_resumed.request", resumed.SerializeToString())
        overrides = feed_pb2.StreamBatchesRequest(batch_size=2)
        overrides.overrides.n_repeats = 2
        overrides.overrides.input_tokens = 64
        overrides.overrides.int64_tokens = True
        put("stream_request_fuzzer", "overrides.request", overrides.SerializeToString())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def http_seeds():
    put("http_request_fuzzer", "metrics.http", b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    put("http_request_fuzzer", "healthz_head.http",
        b"HEAD /healthz?x=1 HTTP/1.0\r\nConnection: close\r\n\r\n")
    put("http_request_fuzzer", "post.http",
        b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    put("http_request_fuzzer", "chunked.http",
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")


def tokenizer_seeds():
    import gzip
    import json
    goldens = os.path.join(ROOT, "tests", "data", "tokenizer", "wordpiece_4m_goldens.jsonl.gz")
    with gzip.open(goldens, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 700 == 0:
                put("tokenizer_fuzzer", f"golden_{i}.txt", json.loads(line)["text"].encode())
    put("tokenizer_fuzzer", "invalid_utf8.txt", b"person\xff\xfe dog \xc3 v0=1\x00")
    vocab = {"[UNK]": 0, "[PAD]": 1, "a": 2, "##b": 3, "person": 4, "v0=1": 5, "cat": 6, ".": 7}
    put("tokenizer_json_fuzzer", "small.json", json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "post_processor": None,
        "added_tokens": [
            {"id": 1, "content": "[PAD]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 5, "content": "v0=1", "single_word": True, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 4, "content": "person", "single_word": True, "lstrip": False, "rstrip": False,
             "normalized": True, "special": True}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}}).encode())


def raw_json_seeds():
    import gzip
    import json
    docs = {
        "det.json": {"instances": [
            {"class_name": "person", "boxes": [0.25, 0.25, 0.5, 0.75], "score": 0.9},
            {"class_name": "wine glass", "boxes": [0, 0, 0.1, 0.2], "score": 0.95}]},
        "metadata.json": {"original_width": 640, "contrast": 130.5, "objectness": float("nan"),
                          "watermark_score": 0.5, "aesthetic_score": float("inf")},
        "palette.json": [{str(k): [[12.5, 13.5, 255.0]] * k for k in range(1, 8)}],
        "poses.json": {"bbox_xyxy": [[160.0, 120.0, 320.0, 480.0]],
                       "pred_smpl_params": {"global_orient": [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]],
                                            "betas": [[0, 1, -1, 3, -3, 0.5, 2, -2, 4, -4]],
                                            "body_pose": [[0.1]]},
                       "pose_tokenized": [[0, 1, 511, 512, 513, 1023, 100, 600]],
                       "pred_cam": [[-2, 0, 19.5]]},
        "captions.json": ["a dog", {"caption": "a cat"}],
    }
    for name, doc in docs.items():
        put("raw_json_fuzzer", name, json.dumps(doc).encode())
    put("raw_json_fuzzer", "captions.json.gz", gzip.compress(json.dumps(docs["captions.json"]).encode(), mtime=0))


def image_header_seeds():
    # Pillow writes them (Debian's python3-pil, as 4M's data was written): baseline and
    # progressive JPEG, gray, CMYK, one with EXIF and a comment before the frame, and PNGs of
    # several modes.
    import io
    from PIL import Image
    for name, mode, fmt, extra in [("rgb.jpg", "RGB", "JPEG", {}),
                                   ("progressive.jpg", "RGB", "JPEG", {"progressive": True}),
                                   ("gray.jpg", "L", "JPEG", {}),
                                   ("cmyk.jpg", "CMYK", "JPEG", {}),
                                   ("rgb.png", "RGB", "PNG", {}),
                                   ("palette.png", "P", "PNG", {}),
                                   ("rgba.png", "RGBA", "PNG", {}),
                                   ("gray16.png", "I;16", "PNG", {}),
                                   ("exif_comment.jpg", "RGB", "JPEG",
                                    {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00",
                                     "comment": "seed"})]:
        out = io.BytesIO()
        Image.new(mode, (37, 23)).save(out, fmt, **extra)
        put("image_header_fuzzer", name, out.getvalue())


def image_decode_seeds():
    # Small images of every kind the pixel path reads (Pillow writes them, as 4M's data was
    # written), with content, so the decoders' data paths are seeded too; and a few from
    # the exactness corpus generator's own writer (16-bit, 2/4-bit grey, Adam7).
    import importlib.util
    from PIL import Image
    spec = importlib.util.spec_from_file_location(
        "corpus", os.path.join(ROOT, "tests", "data", "images", "make_pillow_corpus.py"))
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    import random
    rng = random.Random(3)
    for kind in corpus.JPEG_KINDS + corpus.PNG_KINDS:
        h, w = rng.randint(9, 40), rng.randint(9, 40)
        data, ext = corpus.encode(rng, kind, corpus.natural(rng, h, w))
        put("image_decode_fuzzer", f"{kind}.{ext}", data)


def npz_seeds():
    # 4M's t5_caption as numpy writes it: np.savez (stored, zip64 local headers) and
    # np.savez_compressed (deflated), float16 and float32.
    rng = np.random.default_rng(0)
    for name, save, dtype in [("stored.npz", np.savez, np.float32),
                              ("deflated.npz", np.savez_compressed, np.float16)]:
        out = io.BytesIO()
        save(out, emb=rng.standard_normal((2, 5, 4)).astype(dtype),
             mask_valid=rng.random((2, 5)) < 0.5)
        put("npz_fuzzer", name, out.getvalue())


def numpy_pickle_seeds():
    # sam_instance entries as NumPy pickles them (np.save uses protocol 3), and protocols 2
    # and 4, which frame and memoize differently.
    import pickle
    entries = np.empty(2, dtype=object)
    for c in range(2):
        entries[c] = {"points": [[np.array([[[0, 0]], [[50, 0]], [[50, 50]]], dtype=np.int32)]],
                      "token_ids": np.arange(16, dtype=np.int64).reshape(1, 16) + c,
                      "bbox": np.array([[0.0, 0.0, 50.0, 50.0]], dtype=np.float32)}
    for protocol in (2, 3, 4):
        put("numpy_pickle_fuzzer", f"sam_p{protocol}.pkl", pickle.dumps(entries, protocol=protocol))


def fourm_yaml_seeds():
    # 4M's own data and alphas configs (tests/data/4m/configs), their alphas path pointed at
    # the fuzzer's "alphas.yaml", and a small complete one.
    cfgs = os.path.join(ROOT, "tests", "data", "4m", "configs", "cfgs", "default", "4m")
    for sub in ("data", "alphas_mixture"):
        for folder, _, files in os.walk(os.path.join(cfgs, sub)):
            for f in files:
                with open(os.path.join(folder, f), "rb") as src:
                    text = src.read()
                text = re.sub(rb'alphas_config: "[^"]*"', b'alphas_config: "alphas.yaml"', text)
                put("fourm_yaml_fuzzer", f"{sub}-{f}", text)
    put("fourm_yaml_fuzzer", "small.yaml", b"""train:
  datasets:
    d:
      type: multimodal
      in_domains: caption-tok_rgb@224
      out_domains: caption
      input_alphas: "0.5-1.0"
      num_input_tokens: 1_00
      min_input_tokens: null
      data_path: 'x/[caption,tok_rgb@224]/shard-{0..3}.tar'
      use_wds: yes
      modality_name_map: {a: b}
  weights: [1.0]
""")


def crc32c(data):
    """CRC-32C (Castagnoli), bit by bit: the seeds are small."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def shard_index_file(records):
    """A shard index file (pipeline/storage/shard_index_file.h) of raw records."""
    out = b"MFSIDX01" + struct.pack("<III", 5, 1, 1) + struct.pack("<8q", *([0] * 8))
    out += struct.pack("<Q", len(records))
    for first_dim, kind, key in records:
        out += struct.pack("<qII", first_dim, kind, len(key)) + key
    return out + struct.pack("<I", crc32c(out))


def s3_response_seeds():
    put("s3_response_fuzzer", "shard-index.bin",
        shard_index_file([(1200, 5, b"00001"), (88, 2, b"00002")]))
    put("s3_response_fuzzer", "manifest.json",
        b'{"format": "maskfeed-manifest", "version": 1, "objects": ['
        b'{"name": "rgb/shard-00000.mfs", "bytes": 1234}, {"name": "tokenizer.json", "bytes": 9}]}')
    put("s3_response_fuzzer", "list.xml", b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>data</Name>
<Prefix>cc12m/rgb/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
<Contents><Key>cc12m/rgb/shard-00000.tar</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1048576</Size></Contents>
<Contents><Key>cc12m/rgb/shard-00001.tar</Key><Size>0</Size></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>""")
    put("s3_response_fuzzer", "error.xml", b"""<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
<Key>cc12m/rgb/shard-00002.tar</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>""")
    put("s3_response_fuzzer", "entities.xml",
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size></Contents></ListBucketResult>")


def main():
    # Files are overwritten, never deleted: the regression_* inputs beside them are findings
    # that were fixed, kept so that every run replays them.
    work = tempfile.mkdtemp()
    try:
        npy_seeds()
        tar_seeds()
        data = mfs_seeds(work)
        config_seeds()
        stream_seeds(data, work)
        http_seeds()
        tokenizer_seeds()
        raw_json_seeds()
        image_header_seeds()
        image_decode_seeds()
        fourm_yaml_seeds()
        npz_seeds()
        numpy_pickle_seeds()
        s3_response_seeds()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
