// AVX-512 float vectors: 16-bit floats loaded exactly, and the canonical combination
// (float_kernels.h) of 32 partial sums held in two vectors.
#pragma once

#include "kernels/float_rows.h"

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels {

// Sixteen 16-bit floats to floats, exactly: F16 by vcvtph2ps, BF16 (the top half of a float) by
// a shift.
template <FloatWeightFormat format>
inline __m512 load16(const uint16_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (format == FloatWeightFormat::f16) {
        return _mm512_cvtph_ps(h);
    } else {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

// Lanes 8-15 (AVX-512F only; extractf32x8 would need DQ).
inline __m256 upper_half(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

// acc0 holds partials 0-15, acc1 16-31: t = (s0-7 + s8-15) + (s16-23 + s24-31), then the 8-lane
// tree of canonical_reduce.
inline float canonical_sum(__m512 acc0, __m512 acc1) {
    const __m256 t = _mm256_add_ps(_mm256_add_ps(_mm512_castps512_ps256(acc0), upper_half(acc0)),
                                   _mm256_add_ps(_mm512_castps512_ps256(acc1), upper_half(acc1)));
    const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

}  // namespace tern::kernels
