// Shared AVX2 helpers of the i2 (and k-quant) kernels: unpacking 32 bytes into four vectors of
// 2-bit codes, horizontal sums. Always inlined: AVX-512 files include them too, and an out-of-line
// copy built with AVX-512 flags must never be the one AVX2 code calls.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels::avx2 {

// Codes (t + 1, in 0..2) of columns [32q, 32q + 32) of a 128-column block, q = 0..3.
struct I2Codes {
    __m256i c[4];
};

[[gnu::always_inline]] inline I2Codes unpack_i2_block(const uint8_t* bytes) {
    const __m256i mask = _mm256_set1_epi8(3);
    const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
    return {{_mm256_and_si256(_mm256_srli_epi16(x, 6), mask),
             _mm256_and_si256(_mm256_srli_epi16(x, 4), mask),
             _mm256_and_si256(_mm256_srli_epi16(x, 2), mask), _mm256_and_si256(x, mask)}};
}

// sum over 128 columns of code * q as 16 int16 lanes (each lane <= 4 * 512 in magnitude).
[[gnu::always_inline]] inline __m256i i2_block_dot(const I2Codes& codes, const int8_t* q) {
    const auto* a = reinterpret_cast<const __m256i*>(q);
    const __m256i p0 = _mm256_maddubs_epi16(codes.c[0], _mm256_loadu_si256(a));
    const __m256i p1 = _mm256_maddubs_epi16(codes.c[1], _mm256_loadu_si256(a + 1));
    const __m256i p2 = _mm256_maddubs_epi16(codes.c[2], _mm256_loadu_si256(a + 2));
    const __m256i p3 = _mm256_maddubs_epi16(codes.c[3], _mm256_loadu_si256(a + 3));
    return _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3));
}

// Sum of the 8 int32 lanes.
[[gnu::always_inline]] inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// A row tile's results: out[r] = (sum of the 8 lanes of row r's vector) - offset, for the tile's
// first n rows (rows past the matrix's end are padding and not written). The three `hadd`s leave
// lanes [r0 r1 r2 r3] in each half.
[[gnu::always_inline]] inline void store_tile_sums(__m256i row0, __m256i row1, __m256i row2,
                                                   __m256i row3, int32_t offset, int32_t* out,
                                                   int64_t n) {
    const __m256i h =
        _mm256_hadd_epi32(_mm256_hadd_epi32(row0, row1), _mm256_hadd_epi32(row2, row3));
    const __m128i sums =
        _mm_sub_epi32(_mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)),
                      _mm_set1_epi32(offset));
    alignas(16) int32_t tile_sums[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(tile_sums), sums);
    for (int64_t r = 0; r < n && r < 4; ++r) out[r] = tile_sums[r];
}

// Blocks whose int16 partial sums may be added before widening: 8 * 2048 < 32767.
constexpr int64_t kI2BlocksPerWiden = 8;

}  // namespace tern::kernels::avx2
