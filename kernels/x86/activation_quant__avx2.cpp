// AVX2 per-token int8 activation quantisation, bit-identical to the scalar reference: the same
// float multiply, round-half-even (vroundps nearest), clamp, and the same scale.
#include "kernels/x86/activation_quant__avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace tern::kernels {

QuantizedRowInfo quantize_row_i8__avx2(const float* x, int64_t n, int8_t* q) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 vmax = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vmax);
    float amax = 0.0f;
    for (float v : lanes) amax = std::max(amax, v);
    for (; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = 127.0f / std::max(amax, 1e-5f);

    const __m256 vscale = _mm256_set1_ps(scale);
    const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    __m256i vsum = _mm256_setzero_si256();
    i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v[4];
        for (int j = 0; j < 4; ++j) {
            __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vscale),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            r = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
            v[j] = _mm256_cvtps_epi32(r);
            vsum = _mm256_add_epi32(vsum, v[j]);
        }
        // packs works per 128-bit lane: [v0a v1a | v0b v1b] -> fix the order with a permute.
        const __m256i p01 = _mm256_packs_epi32(v[0], v[1]);
        const __m256i p23 = _mm256_packs_epi32(v[2], v[3]);
        const __m256i bytes = _mm256_packs_epi16(p01, p23);
        const __m256i ordered =
            _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), ordered);
    }
    alignas(32) int32_t sums[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums), vsum);
    int32_t sum = 0;
    for (int32_t s : sums) sum += s;
    for (; i < n; ++i) {
        const float r = std::nearbyint(x[i] * scale);
        const auto v = static_cast<int32_t>(std::clamp(r, -128.0f, 127.0f));
        q[i] = static_cast<int8_t>(v);
        sum += v;
    }
    return {scale, sum};
}

}  // namespace tern::kernels
