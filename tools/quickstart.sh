#!/usr/bin/env bash
# First run on a fresh Debian 12 machine: install what is missing, build a Release tern, and
# generate a story from the default model in models/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target tern_cli
exec build/release/bin/tern run -p "Once upon a time" -n 256 "$@"
