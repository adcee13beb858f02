// AVX-512 VNNI Q6_K / Q4_K GEMV against int8 activations (--lm-head q6 / q4): each block's exact
// integer sums (kquant.h) from VPDPBUSD over 4 elements and VPDPWSSD by the group scales, then the
// canonical float steps, so the logits are the AVX2 set's bit for bit in half the instructions.
#include "kernels/x86/avx512_gcc_warnings.h"  // first: before any intrinsics header

#include "kernels/kquant.h"
#include "kernels/x86/float_kernels__avx512.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/kquant_rows.h"

#include <immintrin.h>

namespace tern::kernels {

namespace {

// Lane L of a register of 4-element VPDPBUSD sums is elements 4L..4L+3 of the 64 it covers.
// Scaling it by its group's scale: VPDPWSSD with the sum as an int16 pair (it fits: at most
// 4 * 63 * 127 = 32004, so the low half is the sum and the high half its sign) and the scale in
// the low half of a lane whose high half is zero, which adds sum * scale exactly.
[[gnu::always_inline]] inline __m512i scaled_sum(__m512i acc, __m512i values, const int8_t* x,
                                                 __m512i scales) {
    const __m512i sums4 =
        _mm512_dpbusd_epi32(_mm512_setzero_si512(), values, _mm512_loadu_si512(x));
    return _mm512_dpwssd_epi32(acc, sums4, scales);
}

// Index vectors that spread int32 lane g (group g's scale) over the lanes of the 4-element sums
// of its elements: q6[j] for elements 64j..64j+63 of a Q6_K block (16 per group: lane L takes
// group 4j + L / 4); q4[p] for elements 64p..64p+63 of a Q4_K block (32 per group: 2p + L / 8);
// q4_min for the sixteen 16-element activation sums (lane L takes min 8 + L / 2, the mins sitting
// in lanes 8..15 after the scales).
struct GroupIndex {
    __m512i q6[4], q4[4], q4_min;
    GroupIndex() {
        const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        for (int j = 0; j < 4; ++j) {
            q6[j] = _mm512_add_epi32(_mm512_set1_epi32(4 * j), _mm512_srli_epi32(lane, 2));
            q4[j] = _mm512_add_epi32(_mm512_set1_epi32(2 * j), _mm512_srli_epi32(lane, 3));
        }
        q4_min = _mm512_add_epi32(_mm512_set1_epi32(8), _mm512_srli_epi32(lane, 1));
    }
};

// S_b of one Q6_K block (kquant.h). A half's 64 low-bit bytes are quarters 0 | 1 in their low
// nibbles and quarters 2 | 3 in their high ones; its 32 high-bit bytes hold quarter i's two bits
// at bit 2i, brought to bits 4-5 by per-quarter shifts of the copy in each 256-bit half. The
// stored values are q + 32 (0..63, unsigned as VPDPBUSD needs); the + 32 is taken off as
// 32 * sum over groups of scale * (sum of the group's x).
[[gnu::always_inline]] inline int32_t q6_k_block_sum(const uint8_t* block, const int8_t* xq,
                                                     const int16_t* sums, const GroupIndex& index) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    const __m512i low_quarters_shift = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4);
    const __m512i high_quarters_shift = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 192));
    // Scales 0..15 in the low 16 bits of lanes 0..15, high bits zero.
    const __m512i scales = _mm512_and_si512(_mm512_cvtepi8_epi32(sc8), _mm512_set1_epi32(0xFFFF));
    const __m256i offset = _mm256_madd_epi16(
        _mm256_cvtepi8_epi16(sc8), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums)));
    __m512i acc = _mm512_setzero_si512();
    for (int half = 0; half < 2; ++half) {
        const __m512i ql = _mm512_loadu_si512(block + 64 * half);
        const __m512i qh = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 128 + 32 * half)));
        const __m512i quarters01 =
            _mm512_or_si512(_mm512_and_si512(ql, low4),
                            _mm512_and_si512(_mm512_sllv_epi64(qh, low_quarters_shift), bits45));
        const __m512i quarters23 =
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(ql, 4), low4),
                            _mm512_and_si512(_mm512_srlv_epi64(qh, high_quarters_shift), bits45));
        const int8_t* x = xq + 128 * half;
        acc = scaled_sum(acc, quarters01, x, _mm512_permutexvar_epi32(index.q6[2 * half], scales));
        acc = scaled_sum(acc, quarters23, x + 64,
                         _mm512_permutexvar_epi32(index.q6[2 * half + 1], scales));
    }
    const __m256i total =
        _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
    return avx2::hsum_epi32(_mm256_sub_epi32(total, _mm256_slli_epi32(offset, 5)));
}

// A Q4_K block's sc 0..7 then m 0..7 in 16 bytes: q4_k_scales (float_rows.h) on one vector,
// the four 32-bit words from the packed words p0, p1, p2 at block + 4 (w0 = p0 & 0x3F..,
// w1 = (p2 & 0x0F..) | (p0 >> 6 & 0x03..) << 4, w2 = p1 & 0x3F.., w3 = (p2 >> 4 & 0x0F..) |
// (p1 >> 6 & 0x03..) << 4), so no scalar stores are reloaded as a vector.
[[gnu::always_inline]] inline __m128i q4_k_scales_vector(const uint8_t* block) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 4));
    const __m128i low = _mm_shuffle_epi32(packed, _MM_SHUFFLE(2, 1, 2, 0));   // p0 p2 p1 p2
    const __m128i high = _mm_shuffle_epi32(packed, _MM_SHUFFLE(1, 1, 0, 0));  // p0 p0 p1 p1
    const __m128i low_bits =
        _mm_and_si128(_mm_srlv_epi32(low, _mm_setr_epi32(0, 0, 0, 4)),
                      _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
    const __m128i high_bits =
        _mm_and_si128(_mm_srli_epi32(high, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    return _mm_or_si128(low_bits, high_bits);
}

// S_b and M_b of one Q4_K block (kquant.h): 32 bytes hold groups 2p | 2p + 1 in their low |
// high nibbles, so one copy in each 256-bit half, shifted by 0 | 4, is elements 64p..64p+63.
[[gnu::always_inline]] inline void q4_k_block_sums(const uint8_t* block, const int8_t* xq,
                                                   const int16_t* sums, const GroupIndex& index,
                                                   int32_t* s, int32_t* min_sum) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i nibble_shift = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    // sc 0..7 in lanes 0..7, m 0..7 in lanes 8..15 (6-bit, zero-extended).
    const __m512i scales = _mm512_cvtepu8_epi32(q4_k_scales_vector(block));
    __m512i acc = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {
        const __m512i bytes = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16 + 32 * p)));
        const __m512i values = _mm512_and_si512(_mm512_srlv_epi64(bytes, nibble_shift), low4);
        acc = scaled_sum(acc, values, xq + 64 * p, _mm512_permutexvar_epi32(index.q4[p], scales));
    }
    // The 16-element sums (|sum| <= 2032) as int16 pairs against m of their group, as above.
    const __m512i sums32 =
        _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums)));
    const __m512i min_acc = _mm512_dpwssd_epi32(_mm512_setzero_si512(), sums32,
                                                _mm512_permutexvar_epi32(index.q4_min, scales));
    // Both totals at once: lanes 0 and 1 of [S S M M | S S M M] summed pairwise twice.
    const __m256i s8 =
        _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
    const __m256i m8 =
        _mm256_add_epi32(_mm512_castsi512_si256(min_acc), _mm512_extracti64x4_epi64(min_acc, 1));
    const __m256i pairs = _mm256_hadd_epi32(s8, m8);
    const __m128i quads =
        _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
    const __m128i totals = _mm_hadd_epi32(quads, quads);
    *s = _mm_cvtsi128_si32(totals);
    *min_sum = _mm_extract_epi32(totals, 1);
}

// The block sums kquant_rows.h asks for.
struct BlockSums {
    GroupIndex index;
    int32_t q6(const uint8_t* block, const int8_t* xq, const int16_t* xsums) const {
        return q6_k_block_sum(block, xq, xsums, index);
    }
    void q4(const uint8_t* block, const int8_t* xq, const int16_t* xsums, int32_t* s,
            int32_t* m) const {
        q4_k_block_sums(block, xq, xsums, index, s, m);
    }
};

}  // namespace

void gemv_k_q8__avx512(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                       int64_t m_rows, int64_t k, const Q8KActivations& x, float* out) {
    static const BlockSums sums;
    kquant_gemv(sums, format, w, row_bytes, m_rows, k, x, out);
}

}  // namespace tern::kernels
