#!/usr/bin/env bash
# The end-to-end paths under valgrind memcheck: no invalid access, no uninitialised value used,
# and no leak (definite, indirect or possible) in tern run, chat, perplexity and tokenize.
# Usage: valgrind.sh TERN MODEL TEXT_FILE
set -euo pipefail
tern=$1 model=$2 text=$3
vg=(valgrind -q --error-exitcode=9 --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible)
check() {
    local name=$1
    shift
    if ! "$@" >/dev/null 2>"$TMPDIR_VG/$name.log"; then
        echo "valgrind: '$name' failed:"
        cat "$TMPDIR_VG/$name.log"
        exit 1
    fi
    echo "clean: $name"
}
TMPDIR_VG=$(mktemp -d)
trap 'rm -rf "$TMPDIR_VG"' EXIT
check run "${vg[@]}" "$tern" run -m "$model" -p "Once upon a time" -n 8 -t 2 --seed 3
check run_q8 "${vg[@]}" "$tern" run -m "$model" -p "Once upon a time" -n 4 -t 1 --kv q8 --lm-head q8 --temp 0
check chat sh -c "printf 'Hello\n/reset\nHi again\n' | ${vg[*]} '$tern' chat -m '$model' -n 4 -q --temp 0"
check perplexity "${vg[@]}" "$tern" perplexity -m "$model" -f "$text" -c 32 -b 8 -t 2
check tokenize "${vg[@]}" "$tern" tokenize -m "$model" -p "Grüße 🙂 the little dog" --ids
echo "valgrind: all clean"
