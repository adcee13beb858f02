// AVX2 multiply-add kernels over the i2 layout (declarations).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// One token at a time, 4 rows per step sharing the activation loads.
void i2_gemv_4x128__avx2(const MatmulArgs& args);
// One row at a time against 8 tokens per step, each row's codes unpacked once per 8 tokens.
void i2_gemm_1x128x8__avx2(const MatmulArgs& args);

}  // namespace tern::kernels
