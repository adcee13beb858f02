// Shared AVX2 helpers of the tl3 kernels: decoding a group's indices and signs, looking up its
// table, and widening the int16 partial sums.
#pragma once

#include "kernels/ternary_layout.h"

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels::avx2 {

// Indices (low 4 bits) and sign masks (0xFF for negative groups) of group G of an octet, for
// the 32 rows of a tile, byte r = row r.
struct Tl3Group {
    __m256i index;
    __m256i sign;
};

// Decodes an octet's eight groups, from group 7 down to 0, and calls visit(G, group) for each.
// Sign bit G of each row's sign byte is brought to the byte's top bit by doubling the bytes
// (vpaddb) once per group, and a signed compare with zero turns it into the mask: two ALU ops
// any vector port runs, and no constants. The earlier `(signs & bit) == bit` needed a constant
// per group, more than the 16 registers hold, and GCC rebuilt six of them inside the loop (mov,
// vmovd, vpbroadcastb each); the loop's time follows its count of vector instructions (Zen 3,
// GEMV from L2, 2B-4T k/v shape, 1 thread, interleaved, best of 15: 76 against 68 GMAC/s).
template <typename Visit>
inline void decode_octet(const uint8_t* octet, const Visit& visit) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    __m256i signs = _mm256_load_si256(reinterpret_cast<const __m256i*>(octet + 128));
    const auto pair = [&](int p) {  // groups 2p + 1 (high nibbles) and 2p (low nibbles)
        const __m256i bytes = _mm256_load_si256(reinterpret_cast<const __m256i*>(octet + p * 32));
        visit(2 * p + 1, Tl3Group{_mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4),
                                  _mm256_cmpgt_epi8(zero, signs)});
        signs = _mm256_add_epi8(signs, signs);
        visit(2 * p, Tl3Group{_mm256_and_si256(bytes, low4), _mm256_cmpgt_epi8(zero, signs)});
        signs = _mm256_add_epi8(signs, signs);
    };
    pair(3);
    pair(2);
    pair(1);
    pair(0);
}

// Adds one group's looked-up values (T[index], or ~T for negative groups) to the int16
// accumulators: lo covers rows 0-7 and 16-23, hi rows 8-15 and 24-31 (unpack order).
inline void lookup_add(const Tl3Group& g, const uint8_t* table, __m256i& lo, __m256i& hi) {
    const __m256i t_lo =
        _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(table)));
    const __m256i t_hi =
        _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(table + 16)));
    const __m256i v_lo = _mm256_xor_si256(_mm256_shuffle_epi8(t_lo, g.index), g.sign);
    const __m256i v_hi = _mm256_xor_si256(_mm256_shuffle_epi8(t_hi, g.index), g.sign);
    lo = _mm256_add_epi16(lo, _mm256_unpacklo_epi8(v_lo, v_hi));
    hi = _mm256_add_epi16(hi, _mm256_unpackhi_epi8(v_lo, v_hi));
    // Keep the accumulators in registers: without this GCC reassociates the adds of a whole
    // octet into a tree and spills the partial sums to the stack.
    __asm__("" : "+x"(lo), "+x"(hi));
}

// Octets whose int16 sums may be added before widening: 64 groups * 385 < 32767.
constexpr int64_t kTl3OctetsPerWiden = 8;

// acc32[0..3] hold rows 0-7, 8-15, 16-23, 24-31 in order.
inline void widen(__m256i lo, __m256i hi, __m256i* acc32) {
    acc32[0] = _mm256_add_epi32(acc32[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(lo)));
    acc32[1] = _mm256_add_epi32(acc32[1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(hi)));
    acc32[2] = _mm256_add_epi32(acc32[2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(lo, 1)));
    acc32[3] = _mm256_add_epi32(acc32[3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(hi, 1)));
}

// Writes a tile's 32 sums (+ neg_count) to out[row] for rows below `rows`.
inline void store_tile(const __m256i* acc32, const int32_t* neg_count, int64_t first_row,
                       int64_t rows, int32_t* out) {
    alignas(32) int32_t sums[32];
    for (int i = 0; i < 4; ++i) {
        const __m256i n = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(neg_count + 8 * i));
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8 * i), _mm256_add_epi32(acc32[i], n));
    }
    const int64_t n = rows - first_row < 32 ? rows - first_row : 32;
    for (int64_t r = 0; r < n; ++r) out[first_row + r] = sums[r];
}

}  // namespace tern::kernels::avx2
