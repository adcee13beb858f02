#!/usr/bin/env bash
# Builds tern's libFuzzer targets (the `fuzz` preset: clang-14, ASan + UBSan) and runs each for a
# bounded time, growing a corpus in build/fuzz/corpus/<target> from the build's seed corpus.
#
#   tools/fuzz.sh [-t SECONDS] [TARGET...]     (default: 60 s each; all of gguf tokenizer_spm
#                                               tokenizer_bpe chat)
#
# Prints executions, coverage and corpus size per target. A crash, sanitizer report, leak, timeout
# or out-of-memory leaves the input in build/fuzz/crashes/<target>/ and makes the script fail;
# copy it into tests/fuzz/regressions/<target>/ so every build replays it (ctest -L fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
while getopts "t:h" opt; do
    case $opt in
        t) seconds=$OPTARG ;;
        *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf tokenizer_spm tokenizer_bpe chat)

command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is missing (tools/setup.sh --test installs it)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" >/dev/null

build=build/fuzz/tests/fuzz
status=0
printf '| target | seconds | executions | exec/s | coverage (edges) | features | corpus | result |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
    bin=$build/tern_fuzz_$t
    [ -x "$bin" ] || { echo "fuzz.sh: unknown target '$t'" >&2; exit 2; }
    corpus=build/fuzz/corpus/$t crashes=build/fuzz/crashes/$t log=build/fuzz/$t.log
    mkdir -p "$corpus" "$crashes"
    max_len=4096
    [ "$t" = gguf ] && max_len=400000
    set +e
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=$max_len \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$build/seeds/$t" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    files=$(find "$corpus" -type f | wc -l)
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (exit $rc, see $log and $crashes/)"
        status=1
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$seconds" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files" "$result"
done
exit $status
