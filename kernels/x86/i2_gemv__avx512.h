// AVX-512 VNNI i2 GEMV (declaration).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// As i2_gemv_1x128__avxvnni, but one 512-bit VPDPBUSD multiplies both rows of a pair (its 64
// bytes of a block are one register, each 32-column slice of activations is broadcast to both
// halves), and a step takes a tile's two pairs, so each broadcast slice serves four rows.
void i2_gemv_4x128__avx512(const MatmulArgs& args);

}  // namespace tern::kernels
