#!/usr/bin/env bash
# Logits must be bit-identical for every kernel set, ternary layout and thread count the host
# can run, for each KV cache type. Usage: same_logits.sh TERN_LOGITS MODEL
set -euo pipefail
logits=$1 model=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prompt=1,17,300,42,99,7,512,3,250,11 decode=5,9,33
runs=0
for kv in f16 q8 f32; do
    TERN_ISA=scalar TERN_KERNEL=ref "$logits" "$model" "$work/base.f32" $prompt $decode --threads 1 --kv $kv
    for isa in scalar avx2 avxvnni avx512 neon; do
        for kernel in ref mad lut; do
            for threads in 1 2 3; do
                if TERN_ISA=$isa TERN_KERNEL=$kernel "$logits" "$model" "$work/x.f32" $prompt $decode --threads $threads --kv $kv 2>/dev/null; then
                    cmp -s "$work/base.f32" "$work/x.f32" || { echo "DIFFERENT: kv=$kv isa=$isa kernel=$kernel threads=$threads"; exit 1; }
                    runs=$((runs + 1))
                fi
            done
        done
    done
done
# Output layers requantized at load (--lm-head): identical on every kernel set and thread count
# too, and really in use (different from the file's own output layer).
TERN_ISA=scalar TERN_KERNEL=ref "$logits" "$model" "$work/file.f32" $prompt $decode --threads 1
for head in q8 q6 q4; do
    TERN_ISA=scalar TERN_KERNEL=ref "$logits" "$model" "$work/base.f32" $prompt $decode --threads 1 --lm-head $head
    if cmp -s "$work/file.f32" "$work/base.f32"; then echo "--lm-head $head gave the file's logits"; exit 1; fi
    for isa in scalar avx2 avxvnni avx512 neon; do
        for threads in 1 2 3; do
            if TERN_ISA=$isa "$logits" "$model" "$work/x.f32" $prompt $decode --threads $threads --lm-head $head 2>/dev/null; then
                cmp -s "$work/base.f32" "$work/x.f32" || { echo "DIFFERENT: lm-head=$head isa=$isa threads=$threads"; exit 1; }
                runs=$((runs + 1))
            fi
        done
    done
done
echo "identical logits in $runs configurations"
[ "$runs" -ge 36 ]
