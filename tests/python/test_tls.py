"""TLS and mutual TLS from Python: the Feed and the CLI against a real maskfeed-server with
certificates made at test time (tests/testing/make_test_pki.sh)."""

import subprocess

import numpy as np
import pytest

import maskfeed
from conftest import CLI_BIN, SERVER_BIN


def _tls_server(start_server, pki, mutual):
    args = ["--listen", "127.0.0.1:0", "--tls-cert", str(pki / "server.pem"),
            "--tls-key", str(pki / "server.key")]
    if mutual:
        args += ["--tls-client-ca", str(pki / "ca.pem")]
    return start_server("tls", extra_args=args)


def _batches(address, n=3, **kw):
    feed = maskfeed.Feed(address, batch_size=8, seed=5, max_batches=n, output="numpy", **kw)
    return list(feed)


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for m in x:
            for k in x[m]:
                np.testing.assert_array_equal(x[m][k], y[m][k])


def test_feed_over_tls_matches_the_unix_socket(start_server, pki):
    server = _tls_server(start_server, pki, mutual=False)
    got = _batches(server.tcp_address(), tls_ca=str(pki / "ca.pem"))
    _same(got, _batches(server.address))
    assert "security=tls" in open(server.log_path).read()


def test_mutual_tls_needs_a_client_certificate_from_the_ca(start_server, pki):
    server = _tls_server(start_server, pki, mutual=True)
    address = server.tcp_address()
    got = _batches(address, tls_ca=str(pki / "ca.pem"), tls_cert=str(pki / "client.pem"),
                   tls_key=str(pki / "client.key"))
    assert len(got) == 3
    for creds in ({}, {"tls_cert": str(pki / "rogue-client.pem"),
                       "tls_key": str(pki / "rogue-client.key")}):
        with pytest.raises(maskfeed.FeedError) as e:
            _batches(address, tls_ca=str(pki / "ca.pem"), reconnect_timeout=2.0, **creds)
        assert e.value.code.name == "UNAVAILABLE"


def test_bad_tls_arguments_are_named(pki):
    with pytest.raises(ValueError, match="tls_cert and tls_key"):
        maskfeed.Feed("127.0.0.1:1", batch_size=8, tls_cert=str(pki / "client.pem"))
    with pytest.raises(ValueError, match="tls_ca: cannot read"):
        maskfeed.Feed("127.0.0.1:1", batch_size=8, tls_ca=str(pki / "missing.pem"))


def test_cli_takes_tls_options(start_server, pki):
    server = _tls_server(start_server, pki, mutual=True)
    base = [CLI_BIN, "describe", "--address", server.tcp_address(), "--tls-ca",
            str(pki / "ca.pem")]
    ok = subprocess.run(base + ["--tls-cert", str(pki / "client.pem"), "--tls-key",
                                str(pki / "client.key")], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "dataset 'default'" in ok.stdout
    refused = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0


def test_server_refuses_plaintext_on_a_public_address_unless_told(dataset, tmp_path):
    run = subprocess.run([SERVER_BIN, "--data", str(dataset), "--listen", "0.0.0.0:0",
                          "--metrics-listen", "off"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert "--allow-insecure-tcp" in run.stderr and "listen[0]" in run.stderr
