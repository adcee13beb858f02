#!/usr/bin/env bash
# Installs the Debian 12 packages tern needs, only those missing; runs apt-get as root or via sudo.
# Usage: tools/setup.sh [--test]   (--test adds what the test suite needs beyond the build)
set -euo pipefail

build_packages=(g++ cmake ninja-build pkg-config libcli11-dev nlohmann-json3-dev libsentencepiece-dev libpcre2-dev libedit-dev
                libgtest-dev libgmock-dev libbenchmark-dev)
test_packages=(python3 python3-numpy python3-regex g++-aarch64-linux-gnu qemu-user clang-14 clang-format-14 valgrind
               python3-torch python3-sentencepiece)

packages=("${build_packages[@]}")
if [ "${1:-}" = "--test" ]; then packages+=("${test_packages[@]}"); fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "setup: apt-get not found; install these packages yourself: ${missing[*]}" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
