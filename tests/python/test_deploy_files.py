"""The Kubernetes manifests in docker/ say what the server accepts: every flag they pass is one
maskfeed-server knows, credentials come from a Secret, and the S3 pod's cache limit stays below
its emptyDir's size limit."""

import pathlib
import re
import subprocess

import yaml

from conftest import SERVER_BIN

DOCKER = pathlib.Path(__file__).resolve().parents[2] / "docker"
UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
         "Ti": 2**40}


def size(text):
    number, unit = re.fullmatch(r"(\d+)([KMGT]i?)?", text).groups()
    return int(number) * UNITS.get(unit or "", 1)


def sidecar(path):
    pod = yaml.safe_load(path.read_text())
    [container] = [c for c in pod["spec"]["initContainers"] if c["name"] == "maskfeed"]
    return pod, container


def test_every_flag_in_the_manifests_is_one_the_server_knows():
    usage = subprocess.run([SERVER_BIN, "--help"], capture_output=True, text=True,
                           check=True).stdout
    known = set(re.findall(r"--([a-z0-9-]+)", usage))
    manifests = sorted(DOCKER.glob("k8s-pod*.yaml"))
    assert len(manifests) >= 2
    for path in manifests:
        _, container = sidecar(path)
        for arg in container["args"]:
            flag = arg.split("=", 1)[0].lstrip("-")
            assert flag in known, f"{path.name}: --{flag} is not a maskfeed-server flag"


def test_the_s3_pod_takes_credentials_from_a_secret_bounds_its_cache_and_reads_a_share():
    pod, container = sidecar(DOCKER / "k8s-pod-s3.yaml")
    env = {e["name"]: e for e in container["env"]}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert "value" not in env[name], f"{name} must not be written in the manifest"
        assert "secretKeyRef" in env[name]["valueFrom"]
    args = dict(a.lstrip("-").split("=", 1) for a in container["args"])
    assert args["data"].startswith("s3://")
    assert int(args["window-shards"]) > 0
    # each training node fetches its share of the bucket, not all of it
    assert int(args["canonical-nodes"]) > 1 and int(args["node-batch"]) > 0
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == args["cache-dir"]]
    [volume] = [v for v in pod["spec"]["volumes"] if v["name"] == mount["name"]]
    assert size(args["cache-limit"]) < size(volume["emptyDir"]["sizeLimit"])
