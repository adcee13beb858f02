// AVX-512 F16/BF16 GEMV (the output layer) in the canonical order (kernels/float_kernels.h): two
// 16-lane accumulators hold the 32 partial sums, so one 64-byte line of weights is two
// conversions. Only this function runs AVX-512 code: the kernel set is assembled in
// platform__x86.cpp, built for the baseline, so CPUs without AVX-512 never execute this file.
#include "kernels/x86/avx512_gcc_warnings.h"  // first: before any intrinsics header

#include "kernels/fp16.h"
#include "kernels/x86/float_kernels__avx2.h"
#include "kernels/x86/float_kernels__avx512.h"
#include "kernels/x86/stream_prefetch.h"

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels {

namespace {

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

// One F16 or BF16 row against x: partial sums 0-15 in acc0, 16-31 in acc1; the tail (n % 32)
// goes to partials 0..tail-1 and the 32 are combined as canonical_reduce does.
template <FloatWeightFormat format>
inline float dot_16bit_row(const float* x, const uint16_t* w, int64_t n, const char* stream_end) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        prefetch_stream_paged(w + i, stream_end);
        acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(_mm512_loadu_ps(x + i), load16<format>(w + i)));
        acc1 = _mm512_add_ps(
            acc1, _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), load16<format>(w + i + 16)));
    }
    if (i == n) {
        // t = (s0-7 + s8-15) + (s16-23 + s24-31), then the 8-lane tree of canonical_reduce.
        const __m256 t =
            _mm256_add_ps(_mm256_add_ps(_mm512_castps512_ps256(acc0), upper_half(acc0)),
                          _mm256_add_ps(_mm512_castps512_ps256(acc1), upper_half(acc1)));
        const __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
        const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
        return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
    }
    alignas(64) float s[32];
    _mm512_store_ps(s, acc0);
    _mm512_store_ps(s + 16, acc1);
    for (int64_t t = 0; i + t < n; ++t) {
        const uint16_t h = w[i + t];
        s[t] += x[i + t] * (format == FloatWeightFormat::f16 ? half_to_float(h) : bf16_to_float(h));
    }
    return canonical_reduce(s);
}

// One row at a time, as one sequential stream (see the AVX2 set).
template <FloatWeightFormat format>
void gemv_16bit(const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k, const float* x,
                float* out) {
    const char* end = reinterpret_cast<const char*>(w + m_rows * row_bytes);
    prefetch_stream_start(w, end);
    for (int64_t m = 0; m < m_rows; ++m) {
        out[m] =
            dot_16bit_row<format>(x, reinterpret_cast<const uint16_t*>(w + m * row_bytes), k, end);
    }
}

}  // namespace

void float_gemv__avx512(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out) {
    if (format == FloatWeightFormat::f16) {
        gemv_16bit<FloatWeightFormat::f16>(w, row_bytes, m_rows, k, x, out);
    } else if (format == FloatWeightFormat::bf16) {
        gemv_16bit<FloatWeightFormat::bf16>(w, row_bytes, m_rows, k, x, out);
    } else {
        avx2_float_kernels().gemv(format, w, row_bytes, m_rows, k, x, out);
    }
}

}  // namespace tern::kernels
