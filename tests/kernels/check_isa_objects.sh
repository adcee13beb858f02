#!/usr/bin/env bash
# Fails when an object compiled for one x86 ISA (AVX2, AVX-VNNI, AVX-512) defines a symbol the
# linker may share with other objects (an inline function or template instantiated there, a
# weak or unique symbol): the linker keeps one copy for every caller, and if it keeps that one,
# baseline code on a CPU without the ISA executes its instructions. Usage: check_isa_objects.sh
# NM OBJECTS (OBJECTS: the kernel library's objects, ';'-separated as CMake lists them).
set -euo pipefail
nm=$1
IFS=';' read -r -a objects <<< "$2"
checked=0 shared=0
for object in "${objects[@]}"; do
    case $(basename "$object") in
        *__avx2.cpp.o | *__avxvnni.cpp.o | *__avx512.cpp.o) ;;
        *) continue ;;
    esac
    # W/V: weak, u: unique global; DW.ref.__gxx_personality_v0 is data the toolchain emits.
    symbols=$("$nm" -C --defined-only "$object" | awk '$2 ~ /^[WVu]$/ && $3 != "DW.ref.__gxx_personality_v0"')
    if [ -n "$symbols" ]; then
        echo "isa objects: $(basename "$object") shares symbols built for its ISA:"
        echo "$symbols"
        shared=$((shared + 1))
    fi
    checked=$((checked + 1))
done
if [ "$checked" -eq 0 ]; then
    echo "isa objects: none found"
    exit 1
fi
if [ "$shared" -ne 0 ]; then exit 1; fi
echo "isa objects: $checked checked, none shares a symbol"
