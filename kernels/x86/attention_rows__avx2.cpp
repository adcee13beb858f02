// AVX2 attention over cached rows for the query heads that share a KV head: each F16 or F32 key
// (value) row is loaded and converted once for all the heads, each head's result exactly what
// gemv (add_weighted_rows) gives it alone, in the canonical order of float_kernels.h.
#include "kernels/x86/attention_rows__avx2.h"

#include "kernels/x86/canonical_sum__avx2.h"
#include "kernels/x86/float_kernels__avx2.h"
#include "kernels/x86/load8__avx2.h"

#include <immintrin.h>

#include <algorithm>

namespace tern::kernels {

namespace {

// Values [i, i + 8) of a row in `format` (f16 or f32) as floats.
template <FloatWeightFormat format>
inline __m256 row8(const uint8_t* row, int64_t i) {
    if constexpr (format == FloatWeightFormat::f32) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
    } else {
        return load8<format>(reinterpret_cast<const uint16_t*>(row) + i);
    }
}

// H heads' scores of rows [0, n), len % 32 == 0: per row and head, four accumulators of the 32
// partials (element i into partial i % 32, multiply then add), combined by canonical_sum. 4H
// accumulators and the row's four converted vectors fit the 16 registers for H <= 2.
template <FloatWeightFormat format, int H>
void score_rows(const uint8_t* rows, int64_t row_bytes, int64_t n, int64_t len, const float* x,
                int64_t x_stride, float* out, int64_t out_stride) {
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t* row = rows + j * row_bytes;
        __m256 acc[H][4];
        for (int h = 0; h < H; ++h)
            for (int c = 0; c < 4; ++c) acc[h][c] = _mm256_setzero_ps();
        for (int64_t i = 0; i < len; i += 32) {
            __m256 k[4];
            for (int c = 0; c < 4; ++c) k[c] = row8<format>(row, i + 8 * c);
            for (int h = 0; h < H; ++h) {
                const float* xh = x + h * x_stride + i;
                for (int c = 0; c < 4; ++c)
                    acc[h][c] =
                        _mm256_add_ps(acc[h][c], _mm256_mul_ps(_mm256_loadu_ps(xh + 8 * c), k[c]));
            }
        }
        for (int h = 0; h < H; ++h) out[h * out_stride + j] = canonical_sum(acc[h]);
    }
}

template <FloatWeightFormat format>
void score_rows_heads(const uint8_t* rows, int64_t row_bytes, int64_t n, int64_t len,
                      const float* x, int64_t x_stride, int64_t heads, float* out,
                      int64_t out_stride) {
    int64_t h = 0;
    for (; h + 2 <= heads; h += 2) {
        score_rows<format, 2>(rows, row_bytes, n, len, x + h * x_stride, x_stride,
                              out + h * out_stride, out_stride);
    }
    if (h < heads)
        score_rows<format, 1>(rows, row_bytes, n, len, x + h * x_stride, x_stride,
                              out + h * out_stride, out_stride);
}

// Columns [d0, d0 + 8V) of H heads' weighted sums over rows [0, n): y_h[d] += p_h[j] * row_j[d]
// in increasing j (multiply, then add), the sums held in registers across the rows.
template <FloatWeightFormat format, int H, int V>
void weigh_columns(const float* p, int64_t p_stride, int64_t n, const uint8_t* rows,
                   int64_t row_bytes, int64_t d0, float* y, int64_t y_stride) {
    __m256 acc[H][V];
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v) acc[h][v] = _mm256_loadu_ps(y + h * y_stride + d0 + 8 * v);
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t* row = rows + j * row_bytes;
        __m256 values[V];
        for (int v = 0; v < V; ++v) values[v] = row8<format>(row, d0 + 8 * v);
        for (int h = 0; h < H; ++h) {
            const __m256 pj = _mm256_broadcast_ss(p + h * p_stride + j);
            for (int v = 0; v < V; ++v)
                acc[h][v] = _mm256_add_ps(acc[h][v], _mm256_mul_ps(pj, values[v]));
        }
    }
    for (int h = 0; h < H; ++h)
        for (int v = 0; v < V; ++v) _mm256_storeu_ps(y + h * y_stride + d0 + 8 * v, acc[h][v]);
}

// Vectors of columns per block for H heads' sums: at least eight accumulators where the 16
// registers allow, so a row's adds do not wait on each other, and room for the converted values.
template <int H>
constexpr int kColumnVectors = H == 1   ? 8
                               : H == 2 ? 4
                                        : 2;

// Up to four heads at a time, in blocks of 8 * kColumnVectors<H> columns, then 8; the last
// len % 8 columns of each head by the axpy sequence that defines them.
template <FloatWeightFormat format>
void weigh_rows_heads(const float* p, int64_t p_stride, int64_t n, const uint8_t* rows,
                      int64_t row_bytes, int64_t len, float* y, int64_t y_stride, int64_t heads) {
    constexpr int64_t value_bytes = format == FloatWeightFormat::f32 ? 4 : 2;
    for (int64_t h = 0; h < heads; h += 4) {
        const float* ph = p + h * p_stride;
        float* yh = y + h * y_stride;
        with_heads(std::min<int64_t>(4, heads - h), [&]<int H>() {
            constexpr int V = kColumnVectors<H>;
            int64_t d = 0;
            for (; d + 8 * V <= len; d += 8 * V)
                weigh_columns<format, H, V>(ph, p_stride, n, rows, row_bytes, d, yh, y_stride);
            for (; d + 8 <= len; d += 8)
                weigh_columns<format, H, 1>(ph, p_stride, n, rows, row_bytes, d, yh, y_stride);
            for (int i = 0; i < H && d < len; ++i) {
                add_weighted_rows_by_axpy(avx2_float_kernels(), format, ph + i * p_stride, n,
                                          rows + d * value_bytes, row_bytes, len - d,
                                          yh + i * y_stride + d);
            }
        });
    }
}

}  // namespace

void gemv_heads__avx2(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                      int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                      int64_t out_stride) {
    if (len % 32 == 0 && format == FloatWeightFormat::f16) {
        score_rows_heads<FloatWeightFormat::f16>(rows, row_bytes, n, len, x, x_stride, heads, out,
                                                 out_stride);
    } else if (len % 32 == 0 && format == FloatWeightFormat::f32) {
        score_rows_heads<FloatWeightFormat::f32>(rows, row_bytes, n, len, x, x_stride, heads, out,
                                                 out_stride);
    } else {
        gemv_heads_one_by_one(avx2_float_kernels(), format, rows, row_bytes, n, len, x, x_stride,
                              heads, out, out_stride);
    }
}

void add_weighted_rows_heads__avx2(FloatWeightFormat format, const float* p, int64_t p_stride,
                                   int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                                   float* y, int64_t y_stride, int64_t heads) {
    if (format == FloatWeightFormat::f16) {
        weigh_rows_heads<FloatWeightFormat::f16>(p, p_stride, n, rows, row_bytes, len, y, y_stride,
                                                 heads);
    } else if (format == FloatWeightFormat::f32) {
        weigh_rows_heads<FloatWeightFormat::f32>(p, p_stride, n, rows, row_bytes, len, y, y_stride,
                                                 heads);
    } else {
        add_weighted_rows_heads_one_by_one(avx2_float_kernels(), format, p, p_stride, n, rows,
                                           row_bytes, len, y, y_stride, heads);
    }
}

}  // namespace tern::kernels
