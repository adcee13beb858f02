// K-quant (Q6_K, Q4_K) rows against int8 activations per 256 (--lm-head q6 / q4, llama.cpp's
// Q8_K idea): the activation rule, the canonical dot products every ISA reproduces bit for bit,
// and the load-time quantizers that write ggml's block layouts (float_rows.h).
#pragma once

#include "kernels/float_rows.h"

#include <cstdint>

namespace tern::kernels {

constexpr int64_t kKQuantBlock = 256;  // elements per Q6_K / Q4_K block and per activation scale

// One token's activations for the k-quant GEMVs, from quantize_q8_k_activations:
//   q[k]       int8, per 256-block b: d = max|x| / 127, q = clamp(round_half_even(x / d),
//              -127, 127), all zero where d is 0;
//   d[k/256]   those scales (float);
//   sums[k/16] the exact sum of each 16 consecutive q (|sum| <= 2032).
struct Q8KActivations {
    const int8_t* q = nullptr;
    const float* d = nullptr;
    const int16_t* sums = nullptr;
};

// Quantizes n floats (a multiple of 256) as above into q[n], d[n / 256] and sums[n / 16].
void quantize_q8_k_activations(const float* x, int64_t n, int8_t* q, float* d, int16_t* sums);

// The canonical dots of one row of k elements (k % 256 == 0) with x, which every ISA's gemv_k_q8
// reproduces bit for bit. Per block b, with the block's integers exactly (int32):
//   Q6_K: S_b = sum_i sc[i / 16] * q_i * x.q_i            (q_i in -32..31, as stored minus 32)
//         acc += float(S_b) * (d_b * x.d_b)
//   Q4_K: S_b = sum_i sc[i / 32] * q_i * x.q_i             (q_i in 0..15)
//         M_b = sum_j m_j * (sum of x.q over group j)      (j < 8, 32 elements each)
//         acc += float(S_b) * (d_b * x.d_b);  acc -= float(M_b) * (dmin_b * x.d_b)
// in increasing b from acc = 0, each product multiplied, then added (d_b, dmin_b: the block's
// fp16 scales as floats). The integers do not overflow: |S_b| <= 256 * 32 * 127 * 128.
float dot_q6_k_q8_k(const uint8_t* row, int64_t k, const Q8KActivations& x);
float dot_q4_k_q8_k(const uint8_t* row, int64_t k, const Q8KActivations& x);

// FloatKernels::gemv_k_q8 as the definition: the dots above, row by row.
void gemv_k_q8_by_definition(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                             int64_t m_rows, int64_t k, const Q8KActivations& x, float* out);

// Load-time quantizers (scalar; k % 256 == 0) writing ggml's layouts:
//   Q6_K: per 16-element group the value of largest magnitude v sets the group's scale v / -32;
//         the block's largest scale maps to sc = -128 (d = that scale / -128, rounded to fp16);
//         each group's sc is that scale / d rounded down or up in magnitude, whichever decodes
//         the group with the smaller squared error; q = clamp(round(x * (1 / (d * sc))), -32, 31).
//   Q4_K: per 32-element group min = min(0, min x), scale = (max x - min) / 15; d = max scale /
//         63, dmin = max(-min) / 63 (fp16); sc and m are scale / d and -min / dmin each rounded
//         down or up (clamped to 0..63), the pair that decodes the group closest;
//         q = clamp(round((x + dmin * m) * (1 / (d * sc))), 0, 15).
// Rounding is half to even; a squared error is summed in 4 lanes (element i in lane i % 4),
// then (l0 + l1) + (l2 + l3), so every target picks the same candidates.
void quantize_row_q6_k(const float* x, int64_t k, uint8_t* out);
void quantize_row_q4_k(const float* x, int64_t k, uint8_t* out);

}  // namespace tern::kernels
