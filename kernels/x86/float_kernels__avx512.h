// AVX-512 F16/BF16 GEMV (declaration); the avx512 set's other float kernels are AVX2's.
#pragma once

#include "kernels/float_kernels.h"

namespace tern::kernels {

// FloatKernels::gemv: F16 and BF16 rows with 512-bit vectors, other formats by the AVX2 set.
void float_gemv__avx512(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes,
                        int64_t m_rows, int64_t k, const float* x, float* out);

}  // namespace tern::kernels
