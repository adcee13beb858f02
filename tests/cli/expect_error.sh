#!/usr/bin/env bash
# Runs a command that must fail cleanly: exit status as expected (default 1, never a signal),
# exactly one line on stderr, and that line matching the given regular expression.
# Usage: expect_error.sh [--exit N] REGEX COMMAND [ARGS...]
set -u
want_status=1
if [ "$1" = "--exit" ]; then want_status=$2; shift 2; fi
regex=$1; shift
stderr_file=$(mktemp)
"$@" >/dev/null 2>"$stderr_file" </dev/null
status=$?
stderr=$(cat "$stderr_file"); rm -f "$stderr_file"
lines=$(printf '%s' "$stderr" | grep -c '')
fail=0
if [ "$status" -ne "$want_status" ]; then echo "FAIL: exit status $status, expected $want_status"; fail=1; fi
if [ "$lines" -ne 1 ]; then echo "FAIL: stderr has $lines lines, expected 1"; fail=1; fi
if ! printf '%s' "$stderr" | grep -Eq -- "$regex"; then echo "FAIL: stderr does not match /$regex/"; fail=1; fi
echo "stderr: $stderr"
exit $fail
