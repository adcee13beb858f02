#!/usr/bin/env bash
# Installs a tern build into a temporary prefix, builds the API example against it with
# find_package(tern), and runs it on a model.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR MODEL
set -euo pipefail
build=$1 source=$2 model=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/tern/tern.h"
test -f "$work/prefix/lib/cmake/tern/ternConfig.cmake"
test -x "$work/prefix/bin/tern"
test -f "$work/prefix/share/tern/models/tinystories-bitnet.gguf"
cmake -S "$source/tests/install/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DEXAMPLE_SOURCE="$source/tools/example/generate_example.cpp" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" "$model" "Once upon a time"
# The installed tern finds its default model under the prefix, not in the source tree.
TERN_MODEL= "$work/prefix/bin/tern" run -n 4 -p "Hello" --seed 1 >/dev/null
