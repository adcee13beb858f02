// Scalar float kernels: the definition of tern's canonical float operation order.
#include "kernels/float_kernels.h"

#include "kernels/fp16.h"
#include "kernels/nearest_int.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tern::kernels {

float canonical_reduce(const float* s) {
    float t[8];
    for (int l = 0; l < 8; ++l) t[l] = (s[l] + s[l + 8]) + (s[l + 16] + s[l + 24]);
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

float canonical_exp(float x) {
    x = std::fmin(std::fmax(x, -87.3365448f), 88.3762626f);
    const float n = std::nearbyint(x * 1.44269504f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    const float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = (p * z + r) + 1.0f;
    const int32_t e = static_cast<int32_t>(n) + 127;
    return y * bits_to_float(static_cast<uint32_t>(e) << 23);
}

namespace {

float dot_f32(const float* a, const float* b, int64_t n) {
    float s[32] = {};
    for (int64_t i = 0; i < n; ++i) s[i % 32] += a[i] * b[i];
    return canonical_reduce(s);
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
    float s[32] = {};
    for (int64_t i = 0; i < n; ++i) s[i % 32] += a[i] * half_to_float(b[i]);
    return canonical_reduce(s);
}

float sum_squares(const float* x, int64_t n) {
    return dot_f32(x, x, n);
}

void gemv_q8_0_q8(const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k, const int8_t* xq,
                  const float* xd, float* out) {
    for (int64_t m = 0; m < m_rows; ++m) {
        const uint8_t* row = w + m * row_bytes;
        float acc[2][8] = {};
        for (int64_t b = 0; b < k / 32; ++b) {
            uint16_t h;
            std::memcpy(&h, row + kQ8BlockBytes * b, 2);
            const float d = half_to_float(h) * xd[b];
            const auto* q = reinterpret_cast<const int8_t*>(row + kQ8BlockBytes * b + 2);
            for (int j = 0; j < 8; ++j) {
                int32_t sum = 0;
                for (int i = 4 * j; i < 4 * j + 4; ++i)
                    sum += int32_t{q[i]} * int32_t{xq[32 * b + i]};
                acc[b % 2][j] += static_cast<float>(sum) * d;
            }
        }
        float a[8];
        for (int j = 0; j < 8; ++j) a[j] = acc[0][j] + acc[1][j];
        out[m] = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    }
}

void gemv(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k,
          const float* x, float* out) {
    thread_local std::vector<float> row;
    row.resize(static_cast<size_t>(k));
    for (int64_t m = 0; m < m_rows; ++m) {
        const uint8_t* r = w + m * row_bytes;
        if (format == FloatWeightFormat::f16) {
            out[m] = dot_f16(x, reinterpret_cast<const uint16_t*>(r), k);
        } else {
            dequantize_row(format, r, k, row.data());
            out[m] = dot_f32(x, row.data(), k);
        }
    }
}

float exp_shift_sum(float* x, int64_t n, float shift) {
    float s[32] = {};
    for (int64_t i = 0; i < n; ++i) {
        x[i] = canonical_exp(x[i] - shift);
        s[i % 32] += x[i];
    }
    return canonical_reduce(s);
}

void axpy_f32(float* y, float a, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float* y, float a, const uint16_t* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * half_to_float(x[i]);
}

void axpy_q8_0(float* y, float a, const uint8_t* blocks, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b) {
        uint16_t h;
        std::memcpy(&h, blocks + kQ8BlockBytes * b, 2);
        const float d = half_to_float(h);
        const auto* q = reinterpret_cast<const int8_t*>(blocks + kQ8BlockBytes * b + 2);
        for (int i = 0; i < 32; ++i) y[32 * b + i] += a * (d * static_cast<float>(q[i]));
    }
}

void silu_mul(float* g, const float* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + canonical_exp(-g[i])) * u[i];
}

void relu_squared_mul(float* g, const float* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        g[i] = r * r * u[i];
    }
}

void scale_mul(const float* x, float scale, const float* w, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void add(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void to_f16(const float* x, uint16_t* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = float_to_half(x[i]);
}

void from_f16(const uint16_t* x, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(x[i]);
}

}  // namespace

namespace {

// max |x[i]| over n values, NaNs skipped (as fmax does).
float max_magnitude(const float* x, int64_t n) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        const float a = std::fabs(x[i]);
        amax = a > amax ? a : amax;
    }
    return amax;
}

}  // namespace

void quantize_q8_0(const float* x, int64_t n, uint8_t* blocks) {
    for (int64_t b = 0; b < n / 32; ++b) {
        const uint16_t d16 = float_to_half(max_magnitude(x + 32 * b, 32) / 127.0f);
        const float d = half_to_float(d16);
        std::memcpy(blocks + kQ8BlockBytes * b, &d16, 2);
        for (int i = 0; i < 32; ++i) {
            const int q = d == 0.0f ? 0 : nearest_in(x[32 * b + i] / d, -127.0f, 127.0f);
            blocks[kQ8BlockBytes * b + 2 + i] = static_cast<uint8_t>(static_cast<int8_t>(q));
        }
    }
}

float quantize_int8_block(const float* x, int64_t n, int8_t* q) {
    const float d = max_magnitude(x, n) / 127.0f;
    for (int64_t i = 0; i < n; ++i)
        q[i] = static_cast<int8_t>(d == 0.0f ? 0 : nearest_in(x[i] / d, -127.0f, 127.0f));
    return d;
}

void quantize_q8_activations(const float* x, int64_t n, int8_t* q, float* d) {
    for (int64_t b = 0; b < n / 32; ++b) d[b] = quantize_int8_block(x + 32 * b, 32, q + 32 * b);
}

namespace {

void add_weighted_rows(FloatWeightFormat format, const float* p, int64_t n, const uint8_t* rows,
                       int64_t row_bytes, int64_t len, float* y) {
    add_weighted_rows_by_axpy(scalar_float_kernels(), format, p, n, rows, row_bytes, len, y);
}

void gemv_heads(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                int64_t out_stride) {
    gemv_heads_one_by_one(scalar_float_kernels(), format, rows, row_bytes, n, len, x, x_stride,
                          heads, out, out_stride);
}

void add_weighted_rows_heads(FloatWeightFormat format, const float* p, int64_t p_stride, int64_t n,
                             const uint8_t* rows, int64_t row_bytes, int64_t len, float* y,
                             int64_t y_stride, int64_t heads) {
    add_weighted_rows_heads_one_by_one(scalar_float_kernels(), format, p, p_stride, n, rows,
                                       row_bytes, len, y, y_stride, heads);
}

}  // namespace

void add_weighted_rows_by_axpy(const FloatKernels& k, FloatWeightFormat format, const float* p,
                               int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                               float* y) {
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t* row = rows + j * row_bytes;
        switch (format) {
            case FloatWeightFormat::f16:
                k.axpy_f16(y, p[j], reinterpret_cast<const uint16_t*>(row), len);
                break;
            case FloatWeightFormat::q8_0:
                k.axpy_q8_0(y, p[j], row, len);
                break;
            default:
                k.axpy_f32(y, p[j], reinterpret_cast<const float*>(row), len);
                break;
        }
    }
}

void gemv_heads_one_by_one(const FloatKernels& k, FloatWeightFormat format, const uint8_t* rows,
                           int64_t row_bytes, int64_t n, int64_t len, const float* x,
                           int64_t x_stride, int64_t heads, float* out, int64_t out_stride) {
    for (int64_t h = 0; h < heads; ++h)
        k.gemv(format, rows, row_bytes, n, len, x + h * x_stride, out + h * out_stride);
}

void add_weighted_rows_heads_one_by_one(const FloatKernels& k, FloatWeightFormat format,
                                        const float* p, int64_t p_stride, int64_t n,
                                        const uint8_t* rows, int64_t row_bytes, int64_t len,
                                        float* y, int64_t y_stride, int64_t heads) {
    for (int64_t h = 0; h < heads; ++h)
        k.add_weighted_rows(format, p + h * p_stride, n, rows, row_bytes, len, y + h * y_stride);
}

const FloatKernels& scalar_float_kernels() {
    static const FloatKernels k = [] {
        FloatKernels s;
        s.isa = "scalar";
        s.dot_f32 = dot_f32;
        s.dot_f16 = dot_f16;
        s.sum_squares = sum_squares;
        s.gemv = gemv;
        s.gemv_q8_0_q8 = gemv_q8_0_q8;
        s.gemv_k_q8 = gemv_k_q8_by_definition;
        s.exp_shift_sum = exp_shift_sum;
        s.axpy_f32 = axpy_f32;
        s.axpy_f16 = axpy_f16;
        s.axpy_q8_0 = axpy_q8_0;
        s.add_weighted_rows = add_weighted_rows;
        s.gemv_heads = gemv_heads;
        s.add_weighted_rows_heads = add_weighted_rows_heads;
        s.silu_mul = silu_mul;
        s.relu_squared_mul = relu_squared_mul;
        s.scale_mul = scale_mul;
        s.add = add;
        s.to_f16 = to_f16;
        s.from_f16 = from_f16;
        s.quantize_q8_0 = quantize_q8_0;
        s.quantize_q6_k = quantize_row_q6_k;
        s.quantize_q4_k = quantize_row_q4_k;
        return s;
    }();
    return k;
}

}  // namespace tern::kernels
