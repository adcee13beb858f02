// AVX-512 F16/BF16 GEMV (the output layer) in the canonical order (kernels/float_kernels.h): two
// 16-lane accumulators hold the 32 partial sums, so one 64-byte line of weights is two
// conversions. The kernel set is assembled in platform__x86.cpp, built for the baseline, so
// CPUs without AVX-512 never execute this file (nor the set's other AVX-512 files).
#include "kernels/x86/avx512_gcc_warnings.h"  // first: before any intrinsics header

#include "kernels/fp16.h"
#include "kernels/x86/float_kernels__avx2.h"
#include "kernels/x86/float_kernels__avx512.h"
#include "kernels/x86/float_vectors__avx512.h"
#include "kernels/x86/stream_prefetch.h"

#include <immintrin.h>

#include <cstdint>

namespace tern::kernels {

namespace {

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
    if (i == n) return canonical_sum(acc0, acc1);
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
