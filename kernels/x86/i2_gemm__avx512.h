// AVX-512 VNNI i2 GEMM for prompts (declaration).
#pragma once

#include "kernels/ternary_matmul.h"

namespace tern::kernels {

// i2_gemm_4x32x3__avxvnni with the EVEX (AVX-512 VNNI + VL) encoding of the 256-bit VPDPBUSD,
// for CPUs that have AVX-512 VNNI but not AVX-VNNI (Zen 4, Ice Lake, Tiger Lake, Cascade Lake).
// The same instructions otherwise, so the same speed where both exist.
void i2_gemm_4x32x3__avx512vl(const MatmulArgs& args);

}  // namespace tern::kernels
