// AVX-VNNI multiply-add kernels over the i2 layout (declarations).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// As the AVX2 i2 kernels, but VPDPBUSD multiplies the w+1 codes by the activations and sums
// four products straight into int32 lanes: no int16 stage, no widening.
void i2_gemv_1x128__avxvnni(const MatmulArgs& args);
void i2_gemm_4x32x3__avxvnni(const MatmulArgs& args);

}  // namespace tern::kernels
