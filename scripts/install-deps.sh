#!/usr/bin/env bash
# Installs maskfeed's build and test dependencies from Debian packages (bookworm or later).
set -euo pipefail

packages=(
  cmake g++ make pkg-config tar
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libtbb-dev libzstd-dev libboost-dev libssl-dev openssl zlib1g-dev nlohmann-json3-dev libicu-dev
  libjpeg-dev libpng-dev libyaml-cpp-dev libzip-dev libsimdjson-dev libcurl4-openssl-dev
  libexpat1-dev nginx-light
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-dev
  python3 python3-grpcio python3-protobuf python3-numpy python3-pytest python3-venv python3-pil
  python3-torch python3-yaml
)

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi

echo "install-deps: apt-get update" >&2
"${sudo[@]}" apt-get update -qq
echo "install-deps: installing ${#packages[@]} packages" >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  "${packages[@]}" >/dev/null
