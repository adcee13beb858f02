#!/usr/bin/env bash
# `tern run --lm-head screen` and the default (--lm-head auto) must print exactly what
# `--lm-head file` prints, greedy and sampled (with penalties), and say with -v how few output
# rows they computed; with --top-k 0 (every logit read) auto does not screen at all.
set -euo pipefail
tern=$1
log=/tmp/tern_screen_$$
trap 'rm -f "$log"' EXIT
# Prints "<computed> <vocab>" from a -v log's screen line (nothing if there is none).
screen_rows() {
    sed -n 's/^output layer screen: \([0-9.]*\) of \([0-9]*\) rows computed per token$/\1 \2/p' "$1"
}
for sampling in "--temp 0" "--seed 3" "--seed 5 --top-k 100 --repeat-penalty 1.3"; do
    # shellcheck disable=SC2086
    file=$("$tern" run -p "Once upon a time" -n 48 $sampling --lm-head file 2>/dev/null)
    for head in "--lm-head screen" ""; do
        # shellcheck disable=SC2086
        text=$("$tern" run -p "Once upon a time" -n 48 $sampling $head -v 2>"$log")
        rows=$(screen_rows "$log")
        if [ "$file" != "$text" ]; then
            printf 'sampling %s, %s\nfile   %q\nscreen %q\n' "$sampling" "${head:-default}" "$file" "$text"
            exit 1
        fi
        [ -n "$rows" ] || { echo "no screen line with $sampling ${head:-(default)}"; exit 1; }
        read -r computed vocab <<<"$rows"
        # A screen that computes a tenth of the rows or more is not screening.
        awk -v c="$computed" -v v="$vocab" 'BEGIN { exit !(c > 0 && c < v / 10) }' ||
            { echo "$computed of $vocab rows with $sampling ${head:-(default)}"; exit 1; }
        echo "$sampling ${head:-(default)}: same text, $computed of $vocab rows per token"
    done
done
# Every logit read: the default loads no screen (no copy, no screen line) and prints the same.
file=$("$tern" run -p "Once upon a time" -n 24 --seed 4 --top-k 0 --lm-head file 2>/dev/null)
text=$("$tern" run -p "Once upon a time" -n 24 --seed 4 --top-k 0 -v 2>"$log")
[ "$file" = "$text" ] || { printf 'top-k 0\nfile    %q\ndefault %q\n' "$file" "$text"; exit 1; }
if grep -q "screen" "$log"; then
    echo "--top-k 0 with the default --lm-head screened:"
    grep "screen" "$log"
    exit 1
fi
echo "--top-k 0 (default): same text, no screen"
