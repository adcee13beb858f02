#!/usr/bin/env bash
# Runs a command that must fail cleanly: exit status as expected (default 1, never a signal),
# exactly one line on stderr, that line matching the given regular expression, and nothing on
# stdout (a refused request prints no partial output).
# Usage: expect_error.sh [--exit N] [--skip-line REGEX] REGEX COMMAND [ARGS...]
# (--skip-line: stderr lines matching it are progress reports, not counted.)
set -u
want_status=1 skip=
if [ "$1" = "--exit" ]; then want_status=$2; shift 2; fi
if [ "$1" = "--skip-line" ]; then skip=$2; shift 2; fi
regex=$1; shift
stderr_file=$(mktemp) stdout_file=$(mktemp)
"$@" >"$stdout_file" 2>"$stderr_file" </dev/null
status=$?
if [ -n "$skip" ]; then stderr=$(grep -Ev -- "$skip" "$stderr_file"); else stderr=$(cat "$stderr_file"); fi
stdout_bytes=$(wc -c <"$stdout_file"); rm -f "$stderr_file" "$stdout_file"
lines=$(printf '%s' "$stderr" | grep -c '')
fail=0
if [ "$status" -ne "$want_status" ]; then echo "FAIL: exit status $status, expected $want_status"; fail=1; fi
if [ "$stdout_bytes" -ne 0 ]; then echo "FAIL: $stdout_bytes bytes on stdout, expected none"; fail=1; fi
if [ "$lines" -ne 1 ]; then echo "FAIL: stderr has $lines lines, expected 1"; fail=1; fi
if ! printf '%s' "$stderr" | grep -Eq -- "$regex"; then echo "FAIL: stderr does not match /$regex/"; fail=1; fi
echo "stderr: $stderr"
exit $fail
