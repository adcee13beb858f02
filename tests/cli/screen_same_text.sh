#!/usr/bin/env bash
# `tern run --lm-head screen` must print exactly what `--lm-head file` prints, greedy and sampled
# (with penalties), and say with -v how few output rows it computed.
set -euo pipefail
tern=$1
for sampling in "--temp 0" "--seed 3" "--seed 5 --top-k 100 --repeat-penalty 1.3"; do
    # shellcheck disable=SC2086
    file=$("$tern" run -p "Once upon a time" -n 48 $sampling --lm-head file 2>/dev/null)
    # shellcheck disable=SC2086
    screen=$("$tern" run -p "Once upon a time" -n 48 $sampling --lm-head screen -v 2>/tmp/tern_screen_$$)
    rows=$(sed -n 's/^output layer screen: \([0-9.]*\) of \([0-9]*\) rows computed per token$/\1 \2/p' /tmp/tern_screen_$$)
    rm -f /tmp/tern_screen_$$
    if [ "$file" != "$screen" ]; then
        printf 'sampling %s\nfile   %q\nscreen %q\n' "$sampling" "$file" "$screen"
        exit 1
    fi
    [ -n "$rows" ] || { echo "no screen line with $sampling"; exit 1; }
    read -r computed vocab <<<"$rows"
    # A screen that computes a tenth of the rows or more is not screening.
    awk -v c="$computed" -v v="$vocab" 'BEGIN { exit !(c > 0 && c < v / 10) }' ||
        { echo "$computed of $vocab rows with $sampling"; exit 1; }
    echo "$sampling: same text, $computed of $vocab rows per token"
done
