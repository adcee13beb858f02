// Float matmul for weights stored as F32, F16, BF16 or Q8_0 rows (embeddings, output layer,
// float LLaMA models), against float activations. Scalar reference.
#pragma once

#include <cstdint>

namespace tern::kernels {

enum class FloatWeightFormat { f32, f16, bf16, q8_0 };

// Bytes of one row of `k` elements (k must be a multiple of 32 for q8_0).
int64_t float_row_bytes(FloatWeightFormat format, int64_t k);

// Expands one stored row of `k` elements into floats.
void dequantize_row(FloatWeightFormat format, const uint8_t* row, int64_t k, float* out);

// out[n * out_stride + m] = sum_c W(m, c) * x[n * x_stride + c] for m in [0, m_rows),
// n in [0, n_tokens). Rows of W are `row_bytes` apart starting at `weights`. Each dot product is
// summed in a fixed order (8 interleaved float partial sums, then combined pairwise), so the
// result does not depend on how rows are split between threads.
void float_gemm_ref(FloatWeightFormat format, const uint8_t* weights, int64_t row_bytes,
                    int64_t m_rows, int64_t k, const float* x, int64_t x_stride, int64_t n_tokens,
                    float* out, int64_t out_stride);

}  // namespace tern::kernels
