// The avx512 set's own float kernels (declarations); its others are AVX2's.
#pragma once

#include "kernels/float_kernels.h"

namespace tern::kernels {

// FloatKernels::gemv: F16 and BF16 rows with 512-bit vectors, other formats by the AVX2 set.
void float_gemv__avx512(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out);

// FloatKernels::gemv_k_q8 (kquant_gemv__avx512.cpp): Q6_K / Q4_K rows against int8 activations.
void gemv_k_q8__avx512(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                       int64_t m_rows, int64_t k, const Q8KActivations& x, float* out);

// FloatKernels::gemv_heads / add_weighted_rows_heads (attention_rows__avx512.cpp): F16 rows
// with 512-bit vectors, others by the AVX2 kernels.
void gemv_heads__avx512(FloatWeightFormat format, const uint8_t* rows, int64_t row_bytes, int64_t n,
                        int64_t len, const float* x, int64_t x_stride, int64_t heads, float* out,
                        int64_t out_stride);
void add_weighted_rows_heads__avx512(FloatWeightFormat format, const float* p, int64_t p_stride,
                                     int64_t n, const uint8_t* rows, int64_t row_bytes, int64_t len,
                                     float* y, int64_t y_stride, int64_t heads);

}  // namespace tern::kernels
