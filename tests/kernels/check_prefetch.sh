#!/usr/bin/env bash
# Fails when a GEMV object has fewer software prefetches than its source asks for: GCC has deleted
# prefetches before (a helper split off or left out of line, found free of side effects, its call
# dropped), which costs speed and no test would notice. Usage: check_prefetch.sh OBJDUMP OBJECTS
# (OBJECTS: the kernel library's objects, ';'-separated as CMake lists them).
set -euo pipefail
objdump=$1
IFS=';' read -r -a objects <<< "$2"
# At least, AVX-512: the stream start (two loops), each line and each page's first line, per
# instantiation (the F16 and BF16 GEMVs are two); AVX2 floats: one per GEMV (F16, BF16, the two
# Q8_0 ones); the AVX-512 k-quant GEMV: one per instantiation (Q6_K, Q4_K; 4 rows, 1 row); the
# AVX2 i2 GEMV: the stream start (two loops) and the block's two lines; the AVX2 tl3 GEMV: its
# assembly's three and the stream start's two loops.
declare -A minimum=([i2_gemv__avx512.cpp.o]=4 [float_kernels__avx512.cpp.o]=8
                    [i2_gemm__avxvnni.cpp.o]=1 [float_kernels__avx2.cpp.o]=4
                    [kquant_gemv__avx512.cpp.o]=4 [i2_gemv_4x128__avx2.cpp.o]=4
                    [tl3_gemv_32x3__avx2.cpp.o]=5)
checked=0
for object in "${objects[@]}"; do
    name=$(basename "$object")
    [ -n "${minimum[$name]:-}" ] || continue
    count=$("$objdump" -d "$object" | grep -cE 'prefetch(t0|t1|t2|nta)' || true)
    if [ "$count" -lt "${minimum[$name]}" ]; then
        echo "prefetch: $name has $count prefetches, expected at least ${minimum[$name]}"
        exit 1
    fi
    checked=$((checked + 1))
done
if [ "$checked" -ne "${#minimum[@]}" ]; then
    echo "prefetch: found $checked of ${#minimum[@]} objects to check"
    exit 1
fi
echo "prefetch: kept in $checked objects"
