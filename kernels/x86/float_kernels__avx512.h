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

}  // namespace tern::kernels
