// AVX2 float kernels (declaration).
#pragma once

#include "kernels/float_kernels.h"

namespace tern::kernels {

const FloatKernels& avx2_float_kernels();

// FloatKernels::gemv for Q6_K / Q4_K rows with float activations (kquant_gemv__avx2.cpp): each
// weight decoded exactly as float_rows decodes it, then the canonical float dot.
void gemv_k_float__avx2(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out);

// FloatKernels::quantize_q6_k / quantize_q4_k (kquant_quantize__avx2.cpp).
void quantize_row_q6_k__avx2(const float* x, int64_t k, uint8_t* out);
void quantize_row_q4_k__avx2(const float* x, int64_t k, uint8_t* out);

// FloatKernels::gemv_k_q8 (kquant_gemv__avx2.cpp).
void gemv_k_q8__avx2(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows,
                     int64_t k, const Q8KActivations& x, float* out);

}  // namespace tern::kernels
