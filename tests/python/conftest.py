"""Fixtures for the Python client's tests: a small synthetic dataset and real maskfeed-server
processes on Unix sockets (binaries from the build, passed by ctest in the environment)."""

import io
import os
import signal
import subprocess
import tarfile
import time

import pytest

SERVER_BIN = os.environ.get("MASKFEED_SERVER_BIN", "build/server/maskfeed-server")
SHARD_BIN = os.environ.get("MASKFEED_SHARD_BIN", "build/tools/maskfeed-shard")
CLI_BIN = os.environ.get("MASKFEED_BIN", "build/client/cpp/maskfeed")
SAMPLES = 96


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "d"
    subprocess.run([SHARD_BIN, "synth", "--preset", "4m-7-tokens", "--samples", str(SAMPLES), "--shards", "3",
                    "--format", "mfs", "--out", str(root)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root


def torchvision_normalize(pixels):
    """What 4M's RGBTransform computes after Pillow, on the CPU: torchvision's to_tensor (a
    float32 division by 255) and normalize (tensor.sub_(mean).div_(std), both float32
    (3, 1, 1)), written out here so that the tests need no torchvision."""
    import torch
    out = pixels.to(torch.float32).div(255)
    mean = torch.as_tensor([0.485, 0.456, 0.406], dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor([0.229, 0.224, 0.225], dtype=torch.float32).view(-1, 1, 1)
    return out.sub_(mean).div_(std)


class Server:
    def __init__(self, data, socket_path, log_path, extra_args=(), wrapper=()):
        """Serves `data` (a dataset folder), or what extra_args say (--config) when None;
        `wrapper`: a command that runs the server's command line given after it."""
        self.address = f"unix:{socket_path}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        data_args = [] if data is None else ["--data", str(data)]
        self.process = subprocess.Popen(
            [*wrapper, SERVER_BIN, *data_args, "--listen", self.address, "--metrics-listen", "off",
             "--threads", "2", *extra_args], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while b"event=ready" not in open(log_path, "rb").read():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"maskfeed-server did not start:\n{open(log_path).read()}")
            time.sleep(0.02)

    def tcp_address(self):
        """The first TCP address the server logged as listening on (port 0 resolved)."""
        for line in open(self.log_path).read().splitlines():
            if "event=listening" in line and "address=unix:" not in line:
                return line.split("address=")[1].split()[0]
        raise RuntimeError("the server listens on no TCP address")

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self._log.close()
        return code


def add_member(tar, name, data):
    """Adds member `name` holding bytes `data` to an open tarfile."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def serve_config(tmp_path, name, config_text):
    """maskfeed-server on a Unix socket, with a config file holding `config_text`."""
    config = tmp_path / f"{name}.pbtxt"
    config.write_text(config_text)
    return Server(None, tmp_path / f"{name}.sock", tmp_path / f"{name}.log",
                  extra_args=("--config", str(config)))


def input_ids(mod, row):
    """The ids of row `row` of a text modality that its input shows, in order."""
    return [int(t) for t, m in zip(mod["tensor"][row], mod["input_mask"][row]) if not m]


@pytest.fixture
def start_server(dataset, tmp_path):
    servers = []

    def start(name="feed", extra_args=()):
        server = Server(dataset, tmp_path / f"{name}.sock", tmp_path / f"{name}.log", extra_args)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A CA, server and client certificates made now by openssl (make_test_pki.sh)."""
    root = tmp_path_factory.mktemp("pki")
    script = os.path.join(os.path.dirname(__file__), "..", "testing", "make_test_pki.sh")
    subprocess.run([script, str(root)], check=True)
    return root
