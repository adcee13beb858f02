// AVX2 Q6_K / Q4_K GEMVs: against int8 activations (--lm-head q6 / q4) each block's exact integer
// sums from maddubs + madd, then the canonical float steps of kquant.h; against float activations
// (a file's own k-quant layers) each weight decoded as float_rows does, then the canonical dot.
#include "kernels/fp16.h"
#include "kernels/kquant.h"
#include "kernels/x86/canonical_sum__avx2.h"
#include "kernels/x86/float_kernels__avx2.h"
#include "kernels/x86/i2_unpack__avx2.h"
#include "kernels/x86/kquant_rows.h"
#include "kernels/x86/stream_prefetch.h"

#include <immintrin.h>

#include <cstring>

namespace tern::kernels {

namespace {

inline __m256i load32(const void* at) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(at));
}

// pshufb masks over 8 int16 per 128-bit half. q6_scale[i]: entry 2i in the low half and 2i + 1
// in the high half (the scales of a Q6_K quarter's two 16-element groups). q4_scale[j]: entry j
// in both halves. q4_min_pairs: entries 0,0,1,1,2,2,3,3 | 4,4,5,5,6,6,7,7.
struct ShuffleMasks {
    alignas(32) uint8_t q6_scale[4][32];
    alignas(32) uint8_t q4_scale[8][32];
    alignas(32) uint8_t q4_min_pairs[32];
    ShuffleMasks() {
        for (int lane = 0; lane < 16; ++lane) {
            for (int byte = 0; byte < 2; ++byte) {
                for (int i = 0; i < 4; ++i) {
                    q6_scale[i][2 * lane + byte] =
                        static_cast<uint8_t>(2 * (2 * i + (lane >= 8 ? 1 : 0)) + byte);
                }
                for (int j = 0; j < 8; ++j)
                    q4_scale[j][2 * lane + byte] = static_cast<uint8_t>(2 * j + byte);
                q4_min_pairs[2 * lane + byte] = static_cast<uint8_t>(2 * (lane / 2) + byte);
            }
        }
    }
};

const ShuffleMasks& masks() {
    static const ShuffleMasks m;
    return m;
}

inline __m256i mask(const uint8_t* bytes) {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
}

// The stored values (q + 32, 0..63) of half `half` of a Q6_K block: quarter i holds elements
// 128 half + 32 i + l at byte l (float_rows.h). 16-bit shifts move no wanted bit across bytes.
inline void q6_k_quarters(const uint8_t* block, int half, __m256i q[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30);
    const uint8_t* ql = block + 64 * half;
    const __m256i ql0 = load32(ql), ql1 = load32(ql + 32), qh = load32(block + 128 + 32 * half);
    q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4),
                           _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
    q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                           _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                           _mm256_and_si256(qh, bits45));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
}

// S_b of one Q6_K block (kquant.h): maddubs of the stored values q + 32 (0..63) with x makes
// exact int16 pair sums (at most 2 * 63 * 127), madd with the groups' scales exact int32; the
// + 32 is taken off at once as 32 * sum over groups of scale * (sum of the group's x).
inline int32_t q6_k_block_sum(const uint8_t* block, const int8_t* xq, const int16_t* sums,
                              const ShuffleMasks& m) {
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 192));
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // scales 0..15 as int16
    const __m256i offset = _mm256_madd_epi16(sc16, load32(sums));
    __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
    for (int half = 0; half < 2; ++half) {
        // Scales 8 half .. 8 half + 7 as int16 in both 128-bit halves.
        const __m256i scales = half == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00)
                                         : _mm256_permute2x128_si256(sc16, sc16, 0x11);
        __m256i q[4];
        q6_k_quarters(block, half, q);
        for (int i = 0; i < 4; ++i) {
            const __m256i pairs = _mm256_maddubs_epi16(q[i], load32(xq + 128 * half + 32 * i));
            const __m256i scale = _mm256_shuffle_epi8(scales, mask(m.q6_scale[i]));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, scale));
        }
    }
    return avx2::hsum_epi32(acc);
}

// S_b and M_b of one Q4_K block (kquant.h), exactly: maddubs of the 4-bit values with x (pair
// sums at most 2 * 15 * 127), madd with the group's scale; M_b from the 16-element sums of x.
inline void q4_k_block_sums(const uint8_t* block, const int8_t* xq, const int16_t* sums,
                            const ShuffleMasks& m, int32_t* s, int32_t* min_sum) {
    const __m128i sc_m =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(q4_k_scales(block).bytes));
    const __m256i sc_m16 = _mm256_cvtepu8_epi16(sc_m);  // sc 0..7 | m 0..7, int16
    const __m256i scales = _mm256_permute2x128_si256(sc_m16, sc_m16, 0x00);
    const __m256i mins = _mm256_permute2x128_si256(sc_m16, sc_m16, 0x11);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i acc = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
        const __m256i bytes = load32(block + 16 + 32 * p);
        const __m256i lo = _mm256_and_si256(bytes, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
        const __m256i pairs_lo = _mm256_maddubs_epi16(lo, load32(xq + 64 * p));
        const __m256i pairs_hi = _mm256_maddubs_epi16(hi, load32(xq + 64 * p + 32));
        acc = _mm256_add_epi32(
            acc, _mm256_madd_epi16(pairs_lo, _mm256_shuffle_epi8(scales, mask(m.q4_scale[2 * p]))));
        acc = _mm256_add_epi32(
            acc,
            _mm256_madd_epi16(pairs_hi, _mm256_shuffle_epi8(scales, mask(m.q4_scale[2 * p + 1]))));
    }
    *s = avx2::hsum_epi32(acc);
    *min_sum = avx2::hsum_epi32(
        _mm256_madd_epi16(load32(sums), _mm256_shuffle_epi8(mins, mask(m.q4_min_pairs))));
}

// Adds x[0..31] times the 32 weights decoded from `values` (int8 or uint8 per byte, as
// `is_signed`) into the canonical partials acc[0..3]: weight l is values[l] * scale[l / 8]
// - shift[l / 8] (multiply, then subtract), then multiplied by x[l] and added.
template <bool is_signed, bool has_shift>
inline void add_decoded_chunk(__m256i values, const float* x, const __m256 scale[4],
                              const __m256 shift[4], __m256 acc[4]) {
    const __m128i halves[2] = {_mm256_castsi256_si128(values), _mm256_extracti128_si256(values, 1)};
    for (int j = 0; j < 4; ++j) {
        const __m128i eight = j % 2 == 0 ? halves[j / 2] : _mm_srli_si128(halves[j / 2], 8);
        const __m256i ints = is_signed ? _mm256_cvtepi8_epi32(eight) : _mm256_cvtepu8_epi32(eight);
        __m256 weight = _mm256_mul_ps(_mm256_cvtepi32_ps(ints), scale[j]);
        if (has_shift) weight = _mm256_sub_ps(weight, shift[j]);
        acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_loadu_ps(x + 8 * j), weight));
    }
}

}  // namespace

void gemv_k_float__avx2(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out) {
    const uint8_t* end = w + m_rows * row_bytes;
    const int64_t blocks = k / kKQuantBlock;
    const __m256 no_shift[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                                _mm256_setzero_ps()};
    for (int64_t r = 0; r < m_rows; ++r) {
        const uint8_t* row = w + r * row_bytes;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                         _mm256_setzero_ps()};
        for (int64_t b = 0; b < blocks; ++b) {
            const float* xb = x + kKQuantBlock * b;
            if (format == FloatWeightFormat::q6_k) {
                const uint8_t* block = row + kQ6KBlockBytes * b;
                prefetch_near_lines(block, kQ6KBlockBytes, end);
                const float d = load_half(block + 208);
                const auto* sc = reinterpret_cast<const int8_t*>(block + 192);
                for (int half = 0; half < 2; ++half) {
                    __m256i q[4];
                    q6_k_quarters(block, half, q);
                    for (int i = 0; i < 4; ++i) {  // elements 128 half + 32 i + l, in order
                        // float_rows' (d * sc) * q, sc of the 16-element group of l.
                        const __m256 lo =
                            _mm256_set1_ps(d * static_cast<float>(sc[8 * half + 2 * i]));
                        const __m256 hi =
                            _mm256_set1_ps(d * static_cast<float>(sc[8 * half + 2 * i + 1]));
                        const __m256 scale[4] = {lo, lo, hi, hi};
                        const __m256i values = _mm256_sub_epi8(q[i], _mm256_set1_epi8(32));
                        add_decoded_chunk<true, false>(values, xb + 128 * half + 32 * i, scale,
                                                       no_shift, acc);
                    }
                }
            } else {
                const uint8_t* block = row + kQ4KBlockBytes * b;
                prefetch_near_lines(block, kQ4KBlockBytes, end);
                const float d = load_half(block), dmin = load_half(block + 2);
                const __m256i low4 = _mm256_set1_epi8(0x0F);
                const Q4KScales scales = q4_k_scales(block);  // sc 0..7, m 0..7
                for (int p = 0; p < 4; ++p) {
                    const __m256i bytes = load32(block + 16 + 32 * p);
                    for (int g = 0; g < 2; ++g) {  // group 2p (low nibbles), 2p + 1 (high)
                        // float_rows' (d * sc) * q - dmin * m.
                        const int j = 2 * p + g;
                        const __m256 step = _mm256_set1_ps(d * static_cast<float>(scales.bytes[j]));
                        const __m256 shift =
                            _mm256_set1_ps(dmin * static_cast<float>(scales.bytes[8 + j]));
                        const __m256 scale[4] = {step, step, step, step};
                        const __m256 shifts[4] = {shift, shift, shift, shift};
                        const __m256i values =
                            g == 0 ? _mm256_and_si256(bytes, low4)
                                   : _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
                        add_decoded_chunk<false, true>(values, xb + 64 * p + 32 * g, scale, shifts,
                                                       acc);
                    }
                }
            }
        }
        out[r] = canonical_sum(acc);
    }
}

void gemv_k_q8__avx2(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                     int64_t k, const Q8KActivations& x, float* out) {
    // The block sums kquant_rows.h asks for.
    struct BlockSums {
        const ShuffleMasks& m;
        int32_t q6(const uint8_t* block, const int8_t* xq, const int16_t* xsums) const {
            return q6_k_block_sum(block, xq, xsums, m);
        }
        void q4(const uint8_t* block, const int8_t* xq, const int16_t* xsums, int32_t* s,
                int32_t* min_sum) const {
            q4_k_block_sums(block, xq, xsums, m, s, min_sum);
        }
    };
    kquant_gemv(BlockSums{masks()}, format, w, row_bytes, m_rows, k, x, out);
}

}  // namespace tern::kernels
