// Shared pieces of the 512-bit VNNI i2 kernels (GEMV and GEMM); included only by files compiled
// with -mavx512f -mavx512vnni, and always inlined, so nothing built for AVX-512 is shared.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels::avx512 {

// acc += VPDPBUSD(codes as u8, activations as s8); inline assembly for GCC, which otherwise
// copies the accumulator around every call (see the AVX-VNNI kernels).
[[gnu::always_inline]] inline __m512i dpbusd(__m512i acc, __m512i codes, __m512i activations) {
#if defined(__GNUC__) && !defined(__clang__)
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(codes), "vm"(activations));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, codes, activations);
#endif
}

// 32 activations (one slice of a 128-column block) in both 256-bit halves: one for each row of
// a pair held in a register.
[[gnu::always_inline]] inline __m512i broadcast_slice(const int8_t* a) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
}

}  // namespace tern::kernels::avx512
