#!/usr/bin/env bash
# No partial outputs: `tern dummy` killed (SIGKILL) halfway through writing a large model leaves
# the target path as it was -- the old file intact, or no file -- never a truncated model.
# Usage: kill_during_write.sh TERN
set -euo pipefail
tern=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Starts the write, waits until its hidden temporary file holds over 8 MB, then kills it.
kill_midway() {
    local target=$1
    "$tern" dummy --preset bitnet-large -o "$target" >/dev/null 2>&1 &
    local pid=$! size=0
    for _ in $(seq 600); do
        size=$(find "$dir" -name ".$(basename "$target").*" -printf '%s\n' 2>/dev/null | head -1)
        [ "${size:-0}" -gt 8000000 ] && break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "${size:-0}" -gt 8000000 ] || { echo "FAIL: the write never got going (temporary file ${size:-absent} bytes)"; exit 1; }
    echo "killed with $size bytes written to the temporary file"
}

printf 'the old model' >"$dir/old.gguf"
kill_midway "$dir/old.gguf"
[ "$(cat "$dir/old.gguf")" = "the old model" ] || { echo "FAIL: the existing file was changed"; exit 1; }

kill_midway "$dir/new.gguf"
[ ! -e "$dir/new.gguf" ] || { echo "FAIL: a partial new.gguf appeared"; exit 1; }
echo "no partial outputs"
