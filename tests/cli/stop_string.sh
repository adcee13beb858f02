#!/usr/bin/env bash
# `tern run --stop S` must print exactly the text before the first S of the unstopped output
# (also for S given with backslash escapes).
set -euo pipefail
tern=$1
full=$("$tern" run -p "Once upon a time" -n 40 --temp 0 2>/dev/null)
generated=${full#Once upon a time}
# Pick a stop string from the middle of the generated text.
stop=${generated:12:3}
[ -n "$stop" ] || { echo "generation too short"; exit 1; }
stopped=$("$tern" run -p "Once upon a time" -n 40 --temp 0 --stop "$stop" 2>/dev/null)
expected="Once upon a time${generated%%"$stop"*}"
if [ "$stopped" != "$expected" ]; then
    printf 'stop %q\nexpected %q\ngot      %q\n' "$stop" "$expected" "$stopped"
    exit 1
fi
echo "stopped before $stop"

# An escaped stop string is read as llama.cpp reads it: "\n\n" is two newlines.
full=$("$tern" run -p "Once upon a time" -n 60 --temp 0 2>/dev/null)
case "$full" in *$'\n\n'*) ;; *) echo "no blank line in the unstopped text"; exit 1 ;; esac
stopped=$("$tern" run -p "Once upon a time" -n 60 --temp 0 --stop '\n\n' 2>/dev/null)
expected=${full%%$'\n\n'*}
if [ "$stopped" != "$expected" ]; then
    printf 'stop \\n\\n\nexpected %q\ngot      %q\n' "$expected" "$stopped"
    exit 1
fi
echo "stopped before the escaped blank line"
