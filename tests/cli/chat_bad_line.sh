#!/usr/bin/env bash
# A scripted chat goes on past a message it cannot send (invalid UTF-8): one error line for it,
# the next message answered, and exit status 1 at the end.
set -u
tern=$1 model=$2
stderr_file=$(mktemp)
stdout=$(printf 'Hi \xff\xfe there\nHello\n' | "$tern" chat -m "$model" -n 4 -q --temp 0 2>"$stderr_file")
status=$?
stderr=$(cat "$stderr_file"); rm -f "$stderr_file"
fail=0
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status, expected 1"; fail=1; }
[ "$(printf '%s' "$stderr" | grep -c '')" -eq 1 ] || { echo "FAIL: stderr is not one line"; fail=1; }
printf '%s' "$stderr" | grep -q "message not sent: the message is not valid UTF-8 (byte 3 of 11)" ||
    { echo "FAIL: no 'message not sent' error"; fail=1; }
[ -n "$stdout" ] || { echo "FAIL: the second message got no answer"; fail=1; }
echo "stderr: $stderr"
echo "stdout: $stdout"
exit $fail
