// Float kernels of the graph (output layer GEMV, attention, norms, activations) with one
// canonical order of float operations, so every ISA gives bit-identical results.
//
// Canonical dot product / sum over n elements: element i is multiplied (never fused with the
// add) and added into partial sum s[i % 32], in increasing i. The partials are then combined as
//   t[l] = (s[l] + s[l+8]) + (s[l+16] + s[l+24])            for l = 0..7
//   result = ((t0 + t4) + (t2 + t6)) + ((t1 + t5) + (t3 + t7))
// which is what four 8-lane AVX2 accumulators (or eight 4-lane NEON ones) reduce to naturally.
// Canonical Q8_0 x Q8 dot product (the --lm-head q8 output layer, int8 activations): per 32-block
// b, lane j (0..7) takes the exact integer s[b][j] = sum of w_i * x_i over the block's elements
// 4j..4j+3, and acc[b % 2][j] += float(s[b][j]) * (d_w[b] * d_x[b]) (d_w the block's fp16 scale
// as float; multiply, then add); with a[j] = acc[0][j] + acc[1][j], result = ((a0 + a4) +
// (a2 + a6)) + ((a1 + a5) + (a3 + a7)). Two 8-lane AVX2 accumulators (four 4-lane NEON ones)
// hold acc, so consecutive blocks do not wait on each other's add.
// canonical_exp is a Cody-Waite range reduction and a degree-6 polynomial, written once as plain
// float operations and mirrored exactly by every vector implementation.
#pragma once

#include "kernels/float_rows.h"
#include "kernels/kquant.h"

#include <cstdint>

namespace tern::kernels {

// The scalar definitions (also used for tails inside vector kernels).
float canonical_reduce(const float* s32);  // combines 32 partial sums in the canonical tree
float canonical_exp(float x);              // e^x; inputs below -87.3 give 0, above 88.7 give +inf

struct FloatKernels {
    const char* isa = "scalar";
    // sum_i a[i] * b[i]
    float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
    // sum_i a[i] * half_to_float(b[i])
    float (*dot_f16)(const float* a, const uint16_t* b, int64_t n) = nullptr;
    // sum_i x[i]^2
    float (*sum_squares)(const float* x, int64_t n) = nullptr;
    // out[m] = dot(row m of W in `format`, x) for m < m_rows (rows `row_bytes` apart).
    void (*gemv)(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                 int64_t k, const float* x, float* out) = nullptr;
    // out[m] = canonical Q8_0 x Q8 dot of row m (Q8_0 blocks, rows `row_bytes` apart) with the
    // activations quantised by quantize_q8_activations (xq: k int8, xd: k/32 scales); k % 32 == 0.
    void (*gemv_q8_0_q8)(const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k,
                         const int8_t* xq, const float* xd, float* out) = nullptr;
    // out[m] = the canonical k-quant dot (kquant.h) of row m, in `format` q6_k or q4_k (rows
    // `row_bytes` apart), with x; k % 256 == 0.
    void (*gemv_k_q8)(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                      int64_t k, const Q8KActivations& x, float* out) = nullptr;
    // x[i] = canonical_exp(x[i] - shift); returns the canonical sum of the results.
    float (*exp_shift_sum)(float* x, int64_t n, float shift) = nullptr;
    // y[i] += a * x[i] (multiply, then add)
    void (*axpy_f32)(float* y, float a, const float* x, int64_t n) = nullptr;
    void (*axpy_f16)(float* y, float a, const uint16_t* x, int64_t n) = nullptr;
    void (*axpy_q8_0)(float* y, float a, const uint8_t* blocks,
                      int64_t n) = nullptr;  // x[i] = d_b * q_i
    // y[d] += sum over rows j < n of p[j] * (value d of row j), for d < len; rows `row_bytes`
    // apart in `format` (f32, f16 or q8_0). Exactly the axpy of each row onto y in increasing j
    // (attention's weighted sum of cached values; starting from y = 0, or from the sum over the
    // rows before, so a caller may visit the rows in blocks).
    void (*add_weighted_rows)(FloatWeightFormat format, const float* p, int64_t n,
                              const uint8_t* rows, int64_t row_bytes, int64_t len,
                              float* y) = nullptr;
    // Attention's scores for the query heads that share a KV head: out[h * out_stride + j] =
    // gemv's dot of row j (of n, `row_bytes` apart, in `format`) with x + h * x_stride (len
    // values), for h < heads. Each row is read and converted once for all the heads.
    void (*gemv_heads)(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                       int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                       int64_t out_stride) = nullptr;
    // add_weighted_rows of the same n rows for each of `heads` weight vectors: y + h * y_stride
    // gets the rows weighted by p + h * p_stride, for h < heads; each row read once for all.
    void (*add_weighted_rows_heads)(FloatWeightFormat format, const float* p, int64_t p_stride,
                                    int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                                    float* y, int64_t y_stride, int64_t heads) = nullptr;
    // g[i] = silu(g[i]) * u[i] = g / (1 + exp(-g)) * u   or   max(g, 0)^2 * u
    void (*silu_mul)(float* g, const float* u, int64_t n) = nullptr;
    void (*relu_squared_mul)(float* g, const float* u, int64_t n) = nullptr;
    // y[i] = x[i] * scale * w[i]
    void (*scale_mul)(const float* x, float scale, const float* w, float* y, int64_t n) = nullptr;
    // y[i] += x[i]
    void (*add)(float* y, const float* x, int64_t n) = nullptr;
    void (*to_f16)(const float* x, uint16_t* out, int64_t n) = nullptr;
    void (*from_f16)(const uint16_t* x, float* out, int64_t n) = nullptr;
    // quantize_q8_0 below, bit for bit (the output layer's requantization at load).
    void (*quantize_q8_0)(const float* x, int64_t n, uint8_t* blocks) = nullptr;
    // quantize_row_q6_k / quantize_row_q4_k (kquant.h), bit for bit (--lm-head q6 / q4's
    // requantization at load).
    void (*quantize_q6_k)(const float* x, int64_t k, uint8_t* out) = nullptr;
    void (*quantize_q4_k)(const float* x, int64_t k, uint8_t* out) = nullptr;
};

const FloatKernels& scalar_float_kernels();

// add_weighted_rows as its definition: k's axpy of each row onto y in turn (f32, f16, q8_0).
void add_weighted_rows_by_axpy(const FloatKernels& k, FloatWeightFormat format, const float* p,
                               int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                               float* y);

// gemv_heads and add_weighted_rows_heads as their definitions: k's gemv (add_weighted_rows) for
// each head in turn.
void gemv_heads_one_by_one(const FloatKernels& k, FloatWeightFormat format, const uint8_t* rows,
                           int64_t row_bytes, int64_t n, int64_t len, const float* x,
                           int64_t x_stride, int64_t heads, float* out, int64_t out_stride);
void add_weighted_rows_heads_one_by_one(const FloatKernels& k, FloatWeightFormat format,
                                        const float* p, int64_t p_stride, int64_t n,
                                        const uint8_t* rows, int64_t row_bytes, int64_t len,
                                        float* y, int64_t y_stride, int64_t heads);

// Quantizes n floats (a multiple of 32) to Q8_0 blocks: d = max|x| / 127 rounded to fp16,
// q = clamp(round_half_even(x / d), -127, 127) (nearest_in), all zero when d is 0. The scalar
// definition; FloatKernels::quantize_q8_0 is the same per ISA.
void quantize_q8_0(const float* x, int64_t n, uint8_t* blocks);

// Quantizes n floats (a multiple of 32) to int8 per 32-block, for gemv_q8_0_q8: d[b] = max|x| /
// 127 (float), q = clamp(round_half_even(x / d[b]), -127, 127), all zero when d[b] is 0. Scalar
// on every ISA (one vector per token).
void quantize_q8_activations(const float* x, int64_t n, int8_t* q, float* d);

// The rule above for one block of n floats: writes q[n] and returns d.
float quantize_int8_block(const float* x, int64_t n, int8_t* q);

}  // namespace tern::kernels
