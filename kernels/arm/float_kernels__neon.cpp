// NEON float kernels in the canonical order (kernels/float_kernels.h): eight 4-lane accumulators
// hold the 32 partial sums; separate multiplies and adds; exact F16 conversion.
#include "kernels/arm/neon_kernels.h"
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"

#include <arm_neon.h>

#include <cstring>
#include <vector>

namespace tern::kernels {

namespace {

// Combines the eight accumulators plus the products of the `tail` elements past the last full
// 32 (tail_product(i) for the i-th), added to partials 0..tail-1.
template <typename TailProduct>
inline float finish(const float32x4_t* acc, int64_t tail, const TailProduct& tail_product) {
    float s[32];
    for (int i = 0; i < 8; ++i) vst1q_f32(s + 4 * i, acc[i]);
    for (int64_t i = 0; i < tail; ++i) s[i] += tail_product(i);
    return canonical_reduce(s);
}

inline float32x4_t load_f16(const uint16_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
// BF16 is the top half of a float: widen and shift left by 16 (exact).
inline float32x4_t load_bf16(const uint16_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

float dot_f32(const float* a, const float* b, int64_t n) {
    float32x4_t acc[8];
    for (auto& v : acc) v = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 8; ++j)
            acc[j] =
                vaddq_f32(acc[j], vmulq_f32(vld1q_f32(a + i + 4 * j), vld1q_f32(b + i + 4 * j)));
    }
    return finish(acc, n - i, [&](int64_t t) { return a[i + t] * b[i + t]; });
}

// One F16 or BF16 row against x.
template <FloatWeightFormat format>
float dot_16bit(const float* a, const uint16_t* b, int64_t n) {
    constexpr bool f16 = format == FloatWeightFormat::f16;
    float32x4_t acc[8];
    for (auto& v : acc) v = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 8; ++j) {
            const float32x4_t w = f16 ? load_f16(b + i + 4 * j) : load_bf16(b + i + 4 * j);
            acc[j] = vaddq_f32(acc[j], vmulq_f32(vld1q_f32(a + i + 4 * j), w));
        }
    }
    return finish(acc, n - i, [&](int64_t t) {
        return a[i + t] * (f16 ? half_to_float(b[i + t]) : bf16_to_float(b[i + t]));
    });
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
    return dot_16bit<FloatWeightFormat::f16>(a, b, n);
}

float sum_squares(const float* x, int64_t n) {
    return dot_f32(x, x, n);
}

// Q8_0 rows against Q8 activations in the canonical Q8 order: widening multiplies, then pairwise
// adds give the exact 4-element sums (lanes 0..3 from the first 16 elements, 4..7 from the
// rest); acc += float(sums) * (d_w * d_x), multiply then add.
void gemv_q8_0_q8(const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k, const int8_t* xq,
                  const float* xd, float* out) {
    const auto quad_sums = [](int8x16_t a, int8x16_t b) {
        const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
        const int16x8_t hi = vmull_high_s8(a, b);
        return vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi));
    };
    for (int64_t m = 0; m < m_rows; ++m) {
        const uint8_t* row = w + m * row_bytes;
        float32x4_t acc[2][2] = {{vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)},
                                 {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}};
        for (int64_t b = 0; b < k / 32; ++b) {
            const uint8_t* block = row + kQ8BlockBytes * b;
            const auto* q = reinterpret_cast<const int8_t*>(block + 2);
            const int32x4_t s_lo = quad_sums(vld1q_s8(q), vld1q_s8(xq + 32 * b));
            const int32x4_t s_hi = quad_sums(vld1q_s8(q + 16), vld1q_s8(xq + 32 * b + 16));
            const float32x4_t d = vdupq_n_f32(neon_half_at(block) * xd[b]);
            float32x4_t* a = acc[b % 2];
            a[0] = vaddq_f32(a[0], vmulq_f32(vcvtq_f32_s32(s_lo), d));
            a[1] = vaddq_f32(a[1], vmulq_f32(vcvtq_f32_s32(s_hi), d));
        }
        const float32x4_t lo = vaddq_f32(acc[0][0], acc[1][0]),
                          hi = vaddq_f32(acc[0][1], acc[1][1]);
        const float32x4_t s = vaddq_f32(lo, hi);  // a_j + a_j+4
        out[m] = (vgetq_lane_f32(s, 0) + vgetq_lane_f32(s, 2)) +
                 (vgetq_lane_f32(s, 1) + vgetq_lane_f32(s, 3));
    }
}

void gemv(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k,
          const float* x, float* out) {
    if (format == FloatWeightFormat::q6_k || format == FloatWeightFormat::q4_k) {
        gemv_k_float__neon(format, w, row_bytes, m_rows, k, x, out);
        return;
    }
    thread_local std::vector<float> row;
    for (int64_t m = 0; m < m_rows; ++m) {
        const uint8_t* r = w + m * row_bytes;
        if (format == FloatWeightFormat::f16) {
            out[m] = dot_f16(x, reinterpret_cast<const uint16_t*>(r), k);
        } else if (format == FloatWeightFormat::bf16) {
            out[m] = dot_16bit<FloatWeightFormat::bf16>(x, reinterpret_cast<const uint16_t*>(r), k);
        } else if (format == FloatWeightFormat::f32) {
            out[m] = dot_f32(x, reinterpret_cast<const float*>(r), k);
        } else {
            row.resize(static_cast<size_t>(k));
            dequantize_row(format, r, k, row.data());
            out[m] = dot_f32(x, row.data(), k);
        }
    }
}

inline float32x4_t exp4(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.3365448f)), vdupq_n_f32(88.3762626f));
    const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504f)));
    float32x4_t r = vsubq_f32(x, vmulq_f32(n, vdupq_n_f32(0.693359375f)));
    r = vsubq_f32(r, vmulq_f32(n, vdupq_n_f32(-2.12194440e-4f)));
    const float32x4_t z = vmulq_f32(r, r);
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(1.3981999507e-3f));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(8.3334519073e-3f));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(4.1665795894e-2f));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(1.6666665459e-1f));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(5.0000001201e-1f));
    const float32x4_t y = vaddq_f32(vaddq_f32(vmulq_f32(p, z), r), vdupq_n_f32(1.0f));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(y, vreinterpretq_f32_s32(e));
}

float exp_shift_sum(float* x, int64_t n, float shift) {
    float32x4_t acc[8];
    for (auto& v : acc) v = vdupq_n_f32(0.0f);
    const float32x4_t s = vdupq_n_f32(shift);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 8; ++j) {
            const float32x4_t v = exp4(vsubq_f32(vld1q_f32(x + i + 4 * j), s));
            vst1q_f32(x + i + 4 * j, v);
            acc[j] = vaddq_f32(acc[j], v);
        }
    }
    float partial[32];
    for (int j = 0; j < 8; ++j) vst1q_f32(partial + 4 * j, acc[j]);
    for (int64_t t = 0; i + t < n; ++t) {
        x[i + t] = canonical_exp(x[i + t] - shift);
        partial[t] += x[i + t];
    }
    return canonical_reduce(partial);
}

void axpy_f32(float* y, float a, const float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(vld1q_f32(x + i), a)));
    for (; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float* y, float a, const uint16_t* x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(load_f16(x + i), a)));
    for (; i < n; ++i) y[i] += a * half_to_float(x[i]);
}

void silu_mul(float* g, const float* u, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t gv = vld1q_f32(g + i);
        const float32x4_t e = exp4(vnegq_f32(gv));
        vst1q_f32(g + i,
                  vmulq_f32(vdivq_f32(gv, vaddq_f32(vdupq_n_f32(1.0f), e)), vld1q_f32(u + i)));
    }
    for (; i < n; ++i) g[i] = g[i] / (1.0f + canonical_exp(-g[i])) * u[i];
}

void relu_squared_mul(float* g, const float* u, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        // Like the scalar g > 0 ? g : 0 (NaN and -0 become +0).
        const float32x4_t gv = vld1q_f32(g + i);
        const float32x4_t r = vbslq_f32(vcgtq_f32(gv, vdupq_n_f32(0.0f)), gv, vdupq_n_f32(0.0f));
        vst1q_f32(g + i, vmulq_f32(vmulq_f32(r, r), vld1q_f32(u + i)));
    }
    for (; i < n; ++i) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        g[i] = r * r * u[i];
    }
}

void scale_mul(const float* x, float scale, const float* w, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(w + i)));
    for (; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void add(float* y, const float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
    for (; i < n; ++i) y[i] += x[i];
}

void to_f16(const float* x, uint16_t* out, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(out + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; ++i) out[i] = float_to_half(x[i]);
}

void from_f16(const uint16_t* x, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, load_f16(x + i));
    for (; i < n; ++i) out[i] = half_to_float(x[i]);
}

// The axpy sequence with the NEON axpy kernels.
void add_weighted_rows(FloatWeightFormat format, const float* p, int64_t n, const uint8_t* rows,
                       int64_t row_bytes, int64_t len, float* y) {
    add_weighted_rows_by_axpy(neon_float_kernels(), format, p, n, rows, row_bytes, len, y);
}

// The per-head definitions with the NEON kernels.
void gemv_heads(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                int64_t out_stride) {
    gemv_heads_one_by_one(neon_float_kernels(), format, rows, row_bytes, n, len, x, x_stride, heads,
                          out, out_stride);
}

void add_weighted_rows_heads(FloatWeightFormat format, const float* p, int64_t p_stride, int64_t n,
                             const uint8_t* rows, int64_t row_bytes, int64_t len, float* y,
                             int64_t y_stride, int64_t heads) {
    add_weighted_rows_heads_one_by_one(neon_float_kernels(), format, p, p_stride, n, rows,
                                       row_bytes, len, y, y_stride, heads);
}

}  // namespace

const FloatKernels& neon_float_kernels() {
    static const FloatKernels k = [] {
        FloatKernels s;
        s.isa = "neon";
        s.dot_f32 = dot_f32;
        s.dot_f16 = dot_f16;
        s.sum_squares = sum_squares;
        s.gemv = gemv;
        s.gemv_q8_0_q8 = gemv_q8_0_q8;
        s.gemv_k_q8 = gemv_k_q8__neon;
        s.exp_shift_sum = exp_shift_sum;
        s.axpy_f32 = axpy_f32;
        s.axpy_f16 = axpy_f16;
        s.axpy_q8_0 = scalar_float_kernels().axpy_q8_0;
        s.add_weighted_rows = add_weighted_rows;
        s.gemv_heads = gemv_heads;
        s.add_weighted_rows_heads = add_weighted_rows_heads;
        s.silu_mul = silu_mul;
        s.relu_squared_mul = relu_squared_mul;
        s.scale_mul = scale_mul;
        s.add = add;
        s.to_f16 = to_f16;
        s.from_f16 = from_f16;
        s.quantize_q8_0 = quantize_q8_0;  // the scalar definition
        s.quantize_q6_k = quantize_row_q6_k;
        s.quantize_q4_k = quantize_row_q4_k;
        return s;
    }();
    return k;
}

}  // namespace tern::kernels
