// AVX2 activation quantisation (declaration).
#pragma once

#include "kernels/activation_quant.h"

namespace tern::kernels {

QuantizedRowInfo quantize_row_i8__avx2(const float* x, int64_t n, int8_t* q);

}  // namespace tern::kernels
