#!/usr/bin/env bash
# Fails, naming the files, when any C++ source of the tree differs from what clang-format makes of
# it with the committed .clang-format. Usage: check_format.sh CLANG_FORMAT SOURCE_DIR
set -euo pipefail
clang_format=$1
cd "$2"
mapfile -d '' files < <(find include src kernels tools tests bench \( -name '*.cpp' -o -name '*.h' \) -print0 | sort -z)
# One run over every file; each difference is reported as "FILE:LINE:COL: error: ...".
if ! report=$("$clang_format" --dry-run -Werror "${files[@]}" 2>&1); then
    echo "not clang-formatted (run: $clang_format -i FILE):" \
        $(printf '%s\n' "$report" | grep -oE '^[^: ]+\.(cpp|h):[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u)
    exit 1
fi
echo "format: all clean (${#files[@]} files)"
