// The load-time Q6_K and Q4_K quantizers (--lm-head q6 / q4) eight lanes at a time, bit for bit the
// scalar definition's (kquant.h): every element goes through the same IEEE operations in the same
// order, the per-group choices are the shared scalar steps (kquant_rules.h), and each squared
// error sum keeps the definition's four lanes.
#include "kernels/fp16.h"
#include "kernels/kquant.h"
#include "kernels/kquant_rules.h"
#include "kernels/x86/float_kernels__avx2.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace tern::kernels {

namespace {

// level_of<lo, hi> of each of 8 values, as floats: nearest_in of (v + shift) * inverse_step,
// max / min as clamp_to's comparisons (maxps(a, b) is a > b ? a : b, so NaN gives lo), then the
// add and subtract of 1.5 * 2^23, whose result already is the integer the definition converts
// to and back.
template <int lo, int hi>
[[gnu::always_inline]] inline __m256 levels(__m256 v, __m256 inverse_step, __m256 shift) {
    const __m256 round = _mm256_set1_ps(12582912.0f);
    const __m256 scaled = _mm256_mul_ps(_mm256_add_ps(v, shift), inverse_step);
    const __m256 clamped =
        _mm256_min_ps(_mm256_max_ps(scaled, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
    return _mm256_sub_ps(_mm256_add_ps(clamped, round), round);
}

// group_errors<8 * vectors, 1, lo, hi> of the scalar file for one (step, shift): element i's
// squared error (step * q - shift - v) added into lane i % 4 in increasing i, the lanes then
// summed as (l0 + l1) + (l2 + l3).
template <int vectors, int lo, int hi>
[[gnu::always_inline]] inline float group_error(const __m256* v, float step, float shift) {
    const __m256 step_v = _mm256_set1_ps(step), shift_v = _mm256_set1_ps(shift);
    const __m256 inverse_step = _mm256_set1_ps(inverse(step));
    __m128 lanes = _mm_setzero_ps();
    for (int h = 0; h < vectors; ++h) {
        const __m256 q = levels<lo, hi>(v[h], inverse_step, shift_v);
        const __m256 e = _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(step_v, q), shift_v), v[h]);
        const __m256 squares = _mm256_mul_ps(e, e);
        lanes = _mm_add_ps(lanes, _mm256_castps256_ps128(squares));
        lanes = _mm_add_ps(lanes, _mm256_extractf128_ps(squares, 1));
    }
    const __m128 pairs = _mm_add_ps(lanes, _mm_movehdup_ps(lanes));  // l0 + l1, -, l2 + l3, -
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehl_ps(pairs, pairs)));
}

// The largest / smallest of 8 lanes (exact in any order; the callers keep NaN out).
[[gnu::always_inline]] inline float lanes_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

[[gnu::always_inline]] inline float lanes_min(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

// The value of largest magnitude of 16 (the first on ties, NaN never; 0 if all are 0 or NaN),
// as the definition's running "fabs(v) > fabs(peak)" finds it.
[[gnu::always_inline]] inline float group_peak(const float* x, const __m256 v[2]) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 m0 = _mm256_and_ps(v[0], magnitude), m1 = _mm256_and_ps(v[1], magnitude);
    // maxps(a, b) is a > b ? a : b: NaN lanes of m0, m1 are skipped.
    const float largest = lanes_max(_mm256_max_ps(m1, _mm256_max_ps(m0, _mm256_setzero_ps())));
    if (largest == 0.0f) return 0.0f;
    const __m256 target = _mm256_set1_ps(largest);
    const unsigned hits =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(m0, target, _CMP_EQ_OQ))) |
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(m1, target, _CMP_EQ_OQ))) << 8;
    return x[__builtin_ctz(hits)];
}

// 32 stored values (int32 lanes, 0..63) of elements in order as 32 bytes.
[[gnu::always_inline]] inline __m256i to_bytes(const __m256i q[4]) {
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i bytes =
        _mm256_packus_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    return _mm256_permutevar8x32_epi32(bytes, order);  // undo the packs' lane interleave
}

}  // namespace

void quantize_row_q6_k__avx2(const float* x, int64_t k, uint8_t* out) {
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const float* v = x + kKQuantBlock * b;
        uint8_t* block = out + kQ6KBlockBytes * b;
        __m256 values[16][2];  // group g's elements 16g..16g+7 and 16g+8..16g+15
        float scale[16], max_scale = 0.0f;
        for (int g = 0; g < 16; ++g) {
            values[g][0] = _mm256_loadu_ps(v + 16 * g);
            values[g][1] = _mm256_loadu_ps(v + 16 * g + 8);
            scale[g] = group_peak(v + 16 * g, values[g]) / -32.0f;
            if (std::fabs(scale[g]) > std::fabs(max_scale)) max_scale = scale[g];
        }
        const uint16_t d16 = float_to_half(max_scale / -128.0f);
        std::memcpy(block + 208, &d16, 2);
        const float d = half_to_float(d16);
        auto* sc = reinterpret_cast<int8_t*>(block + 192);
        for (int g = 0; g < 16; ++g) {
            sc[g] = 0;
            if (d == 0.0f) continue;
            const Q6KScaleCandidates c = q6_k_scale_candidates(scale[g], d);
            const float err[2] = {group_error<2, -32, 31>(values[g], c.step[0], 0.0f),
                                  group_error<2, -32, 31>(values[g], c.step[1], 0.0f)};
            sc[g] = static_cast<int8_t>(c.sc[smallest<2>(err)]);
        }
        // stored = level + 32, 32 elements per vector: bytes[j] holds elements 32j..32j+31.
        __m256i bytes[8];
        const __m256 offset = _mm256_set1_ps(32.0f);
        for (int j = 0; j < 8; ++j) {
            __m256i q[4];
            for (int g = 2 * j; g < 2 * j + 2; ++g) {
                const __m256 inverse_step = _mm256_set1_ps(inverse(d * static_cast<float>(sc[g])));
                for (int h = 0; h < 2; ++h) {
                    q[2 * (g - 2 * j) + h] = _mm256_cvttps_epi32(_mm256_add_ps(
                        levels<-32, 31>(values[g][h], inverse_step, _mm256_setzero_ps()), offset));
                }
            }
            bytes[j] = to_bytes(q);
        }
        // Per half, quarter i = elements 128 half + 32 i + l: ql[l] holds quarters 0 (low
        // nibble) and 2 (high), ql[l + 32] quarters 1 and 3, qh[l] the top two bits of
        // quarter i at bit 2i (float_rows.h). 16-bit shifts: each byte is 0..63, so the masks
        // drop whatever crosses from the neighbouring byte.
        const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x03);
        for (int half = 0; half < 2; ++half) {
            const __m256i* s = bytes + 4 * half;
            const auto low_nibbles = [&](__m256i lo, __m256i hi) {
                return _mm256_or_si256(_mm256_and_si256(lo, low4),
                                       _mm256_slli_epi16(_mm256_and_si256(hi, low4), 4));
            };
            const auto top = [&](__m256i q) {
                return _mm256_and_si256(_mm256_srli_epi16(q, 4), top2);
            };
            const __m256i qh = _mm256_or_si256(
                _mm256_or_si256(top(s[0]), _mm256_slli_epi16(top(s[1]), 2)),
                _mm256_or_si256(_mm256_slli_epi16(top(s[2]), 4), _mm256_slli_epi16(top(s[3]), 6)));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 64 * half),
                                low_nibbles(s[0], s[2]));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 64 * half + 32),
                                low_nibbles(s[1], s[3]));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 128 + 32 * half), qh);
        }
    }
}

void quantize_row_q4_k__avx2(const float* x, int64_t k, uint8_t* out) {
    for (int64_t b = 0; b < k / kKQuantBlock; ++b) {
        const float* v = x + kKQuantBlock * b;
        uint8_t* block = out + kQ4KBlockBytes * b;
        __m256 values[8][4];  // group j's 32 elements, 8 per vector
        float scale[8], offset[8], max_scale = 0.0f, max_offset = 0.0f;
        for (int j = 0; j < 8; ++j) {
            // The definition's running lo = min(0, ...) and hi = max(v[32 j], ...), NaN skipped
            // (a NaN first element keeps hi NaN): minps(a, b) is a < b ? a : b.
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(v[32 * j]);
            for (int h = 0; h < 4; ++h) {
                values[j][h] = _mm256_loadu_ps(v + 32 * j + 8 * h);
                lo = _mm256_min_ps(values[j][h], lo);
                hi = _mm256_max_ps(values[j][h], hi);
            }
            const float group_lo = lanes_min(lo), group_hi = lanes_max(hi);
            scale[j] = (group_hi - group_lo) / 15.0f;
            offset[j] = -group_lo;
            max_scale = scale[j] > max_scale ? scale[j] : max_scale;
            max_offset = offset[j] > max_offset ? offset[j] : max_offset;
        }
        const uint16_t d16 = float_to_half(max_scale / 63.0f);
        const uint16_t dmin16 = float_to_half(max_offset / 63.0f);
        std::memcpy(block, &d16, 2);
        std::memcpy(block + 2, &dmin16, 2);
        const float d = half_to_float(d16), dmin = half_to_float(dmin16);
        int sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            const Q4KCandidates c = q4_k_candidates(scale[j], offset[j], d, dmin);
            float err[4];
            for (int i = 0; i < 4; ++i)
                err[i] = group_error<4, 0, 15>(values[j], c.step[i], c.shift[i]);
            const int best = smallest<4>(err);
            sc[j] = c.sc[best];
            m[j] = c.m[best];
        }
        pack_q4_k_scales(sc, m, block + 4);
        // Groups 2p and 2p + 1 in the low and high nibbles of 32 bytes at 16 + 32p.
        for (int p = 0; p < 4; ++p) {
            __m256i nibbles[2];
            for (int g = 0; g < 2; ++g) {
                const int j = 2 * p + g;
                const __m256 inverse_step = _mm256_set1_ps(inverse(d * static_cast<float>(sc[j])));
                const __m256 shift = _mm256_set1_ps(dmin * static_cast<float>(m[j]));
                __m256i q[4];
                for (int h = 0; h < 4; ++h)
                    q[h] = _mm256_cvttps_epi32(levels<0, 15>(values[j][h], inverse_step, shift));
                nibbles[g] = to_bytes(q);
            }
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 16 + 32 * p),
                                _mm256_or_si256(nibbles[0], _mm256_slli_epi16(nibbles[1], 4)));
        }
    }
}

}  // namespace tern::kernels
