#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, builds a preset (default: dev) and
# runs every test with ctest. Usage: tools/test.sh [--preset dev|release|asan] [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=dev
if [ "${1:-}" = "--preset" ]; then preset=$2; shift 2; fi
tools/setup.sh --test
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" "$@"
