// AVX-512 VNNI i2 GEMV (declaration).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// As i2_gemv_1x128__avxvnni, but one 512-bit VPDPBUSD multiplies both rows of a pair: the
// pair's 64-byte block is one register, each 32-column slice of activations is broadcast to
// both halves.
void i2_gemv_1x128__avx512(const MatmulArgs& args);

}  // namespace tern::kernels
