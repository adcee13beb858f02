// The canonical combination (float_kernels.h) of 32 partial sums held in four AVX2 vectors.
#pragma once

#include <immintrin.h>

namespace tern::kernels {

// acc[0..3] hold partials 0-7, 8-15, 16-23, 24-31: t = (s0-7 + s8-15) + (s16-23 + s24-31); the
// halves' sum gives (t0+t4, t1+t5, t2+t6, t3+t7); adding it moved by two gives
// ((t0+t4) + (t2+t6), (t1+t5) + (t3+t7)) in lanes 0 and 1, whose sum is the result.
inline float canonical_sum(const __m256 acc[4]) {
    const __m256 t = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

}  // namespace tern::kernels
