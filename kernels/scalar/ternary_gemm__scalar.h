// Scalar ternary matmul kernels for the ref, i2 and tl3 layouts.
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

void ref_gemm__scalar(const MatmulArgs& args);
void i2_gemm__scalar(const MatmulArgs& args);
void tl3_gemm__scalar(const MatmulArgs& args);  // whole rows only (unit range ignored)

}  // namespace tern::kernels
