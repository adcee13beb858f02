#!/usr/bin/env bash
# Fails, naming the files, when any C++ source of the tree differs from what clang-format makes of
# it with the committed .clang-format. Usage: check_format.sh CLANG_FORMAT SOURCE_DIR
set -euo pipefail
clang_format=$1
cd "$2"
# The tracked sources in a git checkout (untracked scratch files are not the tree's), else all.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -d '' files < <(git ls-files -z -- '*.cpp' '*.h')
else
    mapfile -d '' files < <(find include src kernels tools tests bench \( -name '*.cpp' -o -name '*.h' \) -print0 | sort -z)
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "format: no C++ sources found under $2"
    exit 1
fi
# One run over every file; each difference is reported as "FILE:LINE:COL: error: ...".
if ! report=$("$clang_format" --dry-run -Werror "${files[@]}" 2>&1); then
    mapfile -t named < <(printf '%s\n' "$report" | grep -oE '^[^:]+\.(cpp|h):[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u)
    if [ ${#named[@]} -eq 0 ]; then
        printf 'format: %s failed:\n%s\n' "$clang_format" "$report"
    else
        printf 'not clang-formatted (run: %s -i FILE):' "$clang_format"
        printf ' %s' "${named[@]}"
        printf '\n'
    fi
    exit 1
fi
echo "format: all clean (${#files[@]} files)"
