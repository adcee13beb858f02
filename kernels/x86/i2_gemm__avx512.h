// AVX-512 VNNI i2 GEMM for prompts (declaration).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// A tile's four rows against six tokens at a time with 512-bit VPDPBUSD: a row pair per
// register (the two rows' 32 bytes of a block side by side), each token's 32-column slice of
// activations broadcast to both halves, 12 accumulators.
void i2_gemm_4x32x6__avx512(const MatmulArgs& args);

}  // namespace tern::kernels
