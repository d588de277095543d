"""A PEP 517 build backend for the maskfeed client that needs nothing but the standard library,
protoc and grpc_python_plugin, so `pip install client/python` works without downloads.

It generates maskfeed/v1/*_pb2.py and *_pb2_grpc.py from the repository's proto/ folder
(MASKFEED_PROTO_DIR overrides where that is) and writes a pure-Python wheel.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile

_NAME = "maskfeed"
_VERSION = "0.1.0"
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCE = os.path.dirname(_HERE)  # client/python
_PROTOS = ("config.proto", "dataset.proto", "feed.proto", "server_config.proto")


def _proto_dir():
    return os.environ.get("MASKFEED_PROTO_DIR",
                          os.path.join(_SOURCE, os.pardir, os.pardir, "proto"))


def generate_stubs(out_dir):
    """Writes the maskfeed package with generated stubs into out_dir/maskfeed."""
    proto_dir = _proto_dir()
    if not os.path.isdir(os.path.join(proto_dir, "maskfeed", "v1")):
        raise RuntimeError(f"no maskfeed/v1 protos under {proto_dir} (set MASKFEED_PROTO_DIR)")
    package = os.path.join(out_dir, _NAME)
    shutil.copytree(os.path.join(_SOURCE, _NAME), package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "v1"))
    os.makedirs(os.path.join(package, "v1"), exist_ok=True)
    plugin = shutil.which("grpc_python_plugin")
    protoc = shutil.which("protoc")
    if plugin is None or protoc is None:
        raise RuntimeError("protoc and grpc_python_plugin are needed "
                           "(Debian: protobuf-compiler protobuf-compiler-grpc)")
    subprocess.run([protoc, f"--proto_path={proto_dir}", f"--python_out={out_dir}",
                    f"--grpc_out={out_dir}", f"--plugin=protoc-gen-grpc={plugin}"]
                   + [os.path.join(proto_dir, "maskfeed", "v1", p) for p in _PROTOS],
                   check=True)
    with open(os.path.join(package, "v1", "__init__.py"), "w") as f:
        f.write('"""Generated protobuf and gRPC modules of proto/maskfeed/v1."""\n')


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {_NAME}\nVersion: {_VERSION}\n"
            "Summary: Stream masked 4M-style multimodal batches from a maskfeed-server\n"
            "Requires-Python: >=3.9\n")


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = f"{_NAME}-{_VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as f:
        f.write(_metadata())
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_name = f"{_NAME}-{_VERSION}-py3-none-any.whl"
    dist_info = f"{_NAME}-{_VERSION}.dist-info"
    with tempfile.TemporaryDirectory() as tmp:
        generate_stubs(tmp)
        files = []
        for root, _, names in os.walk(os.path.join(tmp, _NAME)):
            for name in sorted(names):
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    files.append((os.path.relpath(path, tmp), f.read()))
        files.append((f"{dist_info}/METADATA", _metadata().encode()))
        files.append((f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: maskfeed_build\n"
                                             b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
        files.append((f"{dist_info}/top_level.txt", f"{_NAME}\n".encode()))
        record = [_record_line(name, data) for name, data in files]
        record.append(f"{dist_info}/RECORD,,")
        files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
        os.makedirs(wheel_directory, exist_ok=True)
        with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w",
                             zipfile.ZIP_DEFLATED) as whl:
            for name, data in files:
                whl.writestr(name, data)
    return wheel_name


if __name__ == "__main__":
    # Used by the CMake build to lay the package out in the build tree:
    #   python3 maskfeed_build.py OUT_DIR
    import sys
    out = sys.argv[1]
    shutil.rmtree(os.path.join(out, _NAME), ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    generate_stubs(out)
