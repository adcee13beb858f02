// AVX-512 attention over cached F16 rows for the query heads that share a KV head: each key
// (value) row is loaded and converted once for all the heads, each head's result exactly what
// gemv (add_weighted_rows) gives it alone, in the canonical order of float_kernels.h. Other
// formats and shapes go to the AVX2 kernels.
#include "kernels/x86/avx512_gcc_warnings.h"  // first: before any intrinsics header

#include "kernels/x86/attention_rows__avx2.h"
#include "kernels/x86/float_kernels__avx512.h"
#include "kernels/x86/float_vectors__avx512.h"

#include <immintrin.h>

#include <algorithm>

namespace tern::kernels {

namespace {

constexpr FloatWeightFormat kF16 = FloatWeightFormat::f16;

// H heads' scores of rows [0, n), len % 32 == 0: per row and head, partials 0-15 and 16-31 in
// two accumulators (element i into partial i % 32, multiply then add), combined by
// canonical_sum; the row's two converted vectors of each 32 values serve every head.
template <int H>
void score_rows(const uint8_t* rows, int64_t row_bytes, int64_t n, int64_t len, const float* x,
                int64_t x_stride, float* out, int64_t out_stride) {
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = reinterpret_cast<const uint16_t*>(rows + j * row_bytes);
        __m512 acc0[H], acc1[H];
        for (int h = 0; h < H; ++h) acc0[h] = acc1[h] = _mm512_setzero_ps();
        for (int64_t i = 0; i < len; i += 32) {
            const __m512 k0 = load16<kF16>(row + i), k1 = load16<kF16>(row + i + 16);
            for (int h = 0; h < H; ++h) {
                const float* xh = x + h * x_stride + i;
                acc0[h] = _mm512_add_ps(acc0[h], _mm512_mul_ps(_mm512_loadu_ps(xh), k0));
                acc1[h] = _mm512_add_ps(acc1[h], _mm512_mul_ps(_mm512_loadu_ps(xh + 16), k1));
            }
        }
        for (int h = 0; h < H; ++h) out[h * out_stride + j] = canonical_sum(acc0[h], acc1[h]);
    }
}

// Columns [d0, d0 + 16V) of H heads' weighted sums over rows [0, n): y_h[d] += p_h[j] *
// row_j[d] in increasing j (multiply, then add), the sums held in registers across the rows.
template <int H, int V>
void weigh_columns(const float* p, int64_t p_stride, int64_t n, const uint8_t* rows,
                   int64_t row_bytes, int64_t d0, float* y, int64_t y_stride) {
    __m512 acc[H][V];
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v) acc[h][v] = _mm512_loadu_ps(y + h * y_stride + d0 + 16 * v);
    for (int64_t j = 0; j < n; ++j) {
        const auto* row = reinterpret_cast<const uint16_t*>(rows + j * row_bytes);
        __m512 values[V];
        for (int v = 0; v < V; ++v) values[v] = load16<kF16>(row + d0 + 16 * v);
        for (int h = 0; h < H; ++h) {
            const __m512 pj = _mm512_set1_ps(p[h * p_stride + j]);
            for (int v = 0; v < V; ++v)
                acc[h][v] = _mm512_add_ps(acc[h][v], _mm512_mul_ps(pj, values[v]));
        }
    }
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v) _mm512_storeu_ps(y + h * y_stride + d0 + 16 * v, acc[h][v]);
}

}  // namespace

void gemv_heads__avx512(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                        int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                        int64_t out_stride) {
    if (format != kF16 || len % 32 != 0) {
        gemv_heads__avx2(format, rows, row_bytes, n, len, x, x_stride, heads, out, out_stride);
        return;
    }
    // Four heads at a time: 8 accumulators and 2 converted vectors.
    for (int64_t h = 0; h < heads; h += 4) {
        with_heads(std::min<int64_t>(4, heads - h), [&]<int H>() {
            score_rows<H>(rows, row_bytes, n, len, x + h * x_stride, x_stride, out + h * out_stride,
                          out_stride);
        });
    }
}

void add_weighted_rows_heads__avx512(FloatWeightFormat format, const float* p, int64_t p_stride,
                                     int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                                     float* y, int64_t y_stride, int64_t heads) {
    if (format != kF16 || len % 16 != 0) {
        add_weighted_rows_heads__avx2(format, p, p_stride, n, rows, row_bytes, len, y, y_stride,
                                      heads);
        return;
    }
    // Four heads at a time, 64 columns (then 16) at a time: 16 accumulators and 4 converted
    // vectors.
    for (int64_t h = 0; h < heads; h += 4) {
        const float* ph = p + h * p_stride;
        float* yh = y + h * y_stride;
        with_heads(std::min<int64_t>(4, heads - h), [&]<int H>() {
            int64_t d = 0;
            for (; d + 64 <= len; d += 64)
                weigh_columns<H, 4>(ph, p_stride, n, rows, row_bytes, d, yh, y_stride);
            for (; d < len; d += 16)
                weigh_columns<H, 1>(ph, p_stride, n, rows, row_bytes, d, yh, y_stride);
        });
    }
}

}  // namespace tern::kernels
